"""Session limits: signed out after 30 idle minutes and after 12 hours in any case; a
deactivated person's session ends on their next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session

from audit.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def sign_in(client, username: str = "ops") -> None:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:300]


def signed_in(client) -> bool:
    """Whether a page opens (200) rather than sending the visitor to sign in."""
    response = client.get("/usecases/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def last_sign_out_reason() -> str:
    event = AuditEvent.objects.filter(action="auth.signed_out").latest("pk")
    return event.after["reason"]


def test_the_defaults_are_thirty_minutes_idle_and_twelve_hours_in_all():
    assert timedelta(minutes=30) == settings.SESSION_IDLE_TIMEOUT
    assert timedelta(hours=12) == settings.SESSION_ABSOLUTE_LIFETIME


def test_an_idle_session_is_signed_out(client, ops_lead):
    """GIVEN a person signed in WHEN 29 minutes pass, then 30 more without a request
    THEN the first request is served and the second is sent to sign in, recorded as idle."""
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client)
        traveller.shift(timedelta(minutes=29))
        assert signed_in(client)
        traveller.shift(timedelta(minutes=30))
        response = client.get("/usecases/")
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
        assert "_auth_user_id" not in client.session
    assert last_sign_out_reason() == "idle"


def test_an_active_session_is_kept_until_the_absolute_limit(client, ops_lead):
    """GIVEN a person who makes a request every 20 minutes
    WHEN 11 h 40 min have passed THEN they are still signed in
    WHEN 12 hours have passed THEN they are signed out, recorded as expired."""
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client)
        for _ in range(35):  # 35 × 20 min = 11 h 40 min
            traveller.shift(timedelta(minutes=20))
            assert signed_in(client)
        traveller.shift(timedelta(minutes=20))
        assert not signed_in(client)
    assert last_sign_out_reason() == "expired"
    assert not AuditEvent.objects.filter(action="auth.signed_out", after__reason="idle").exists()


def test_a_request_within_the_minute_does_not_rewrite_the_session(client, ops_lead):
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client)
        stamp = client.session["opsai_last_seen_at"]
        traveller.shift(timedelta(seconds=30))
        assert signed_in(client)
        assert client.session["opsai_last_seen_at"] == stamp
        traveller.shift(timedelta(seconds=31))
        assert signed_in(client)
        assert client.session["opsai_last_seen_at"] == stamp + 61


def test_a_deactivated_persons_session_ends_on_their_next_request(client, ops_lead):
    sign_in(client)
    assert signed_in(client)
    session_key = client.session.session_key
    ops_lead.is_active = False
    ops_lead.save(update_fields=["is_active"])

    response = client.get("/usecases/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not Session.objects.filter(session_key=session_key).exists()
    ops_lead.is_active = True
    ops_lead.save(update_fields=["is_active"])
    assert not signed_in(client)  # reactivation does not bring the old session back


def test_the_api_refuses_a_session_that_ran_idle(client, ops_lead):
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client)
        assert client.get("/api/usecases/").status_code == 200
        traveller.shift(timedelta(minutes=31))
        assert client.get("/api/usecases/").status_code in (401, 403)
