"""Sign-ins, failed sign-ins and sign-outs are on the audit trail, with the address and
never the password."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_sign_in_is_recorded_with_the_address(client, ops_lead):
    client.post("/login/", {"username": "ops", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action="auth.signed_in")
    assert event.actor == ops_lead
    assert event.actor_name == "ops"
    assert (event.object_type, event.object_id) == ("auth.user", str(ops_lead.pk))
    assert event.after == {"ip": "10.1.2.3"}


def test_a_failed_sign_in_records_the_username_tried_and_never_the_password(client, ops_lead):
    client.post("/login/", {"username": "ops", "password": "hunter2-guess"}, REMOTE_ADDR="10.9.9.9")
    client.post("/login/", {"username": "nobody", "password": "another-guess"})
    events = list(AuditEvent.objects.filter(action="auth.sign_in_failed").order_by("pk"))
    assert [e.after for e in events] == [
        {"username": "ops", "ip": "10.9.9.9"},
        {"username": "nobody", "ip": "127.0.0.1"},
    ]
    assert all(e.actor is None for e in events)
    everything = json.dumps(list(AuditEvent.objects.values("before", "after", "object_repr")))
    assert "hunter2-guess" not in everything
    assert "another-guess" not in everything


def test_a_huge_username_is_recorded_cut_short(client):
    client.post("/login/", {"username": "x" * 100_000, "password": "guess"})
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.after["username"] == "x" * 150


def test_a_sign_out_is_recorded(client, ops_lead):
    client.post("/login/", {"username": "ops", "password": PASSWORD})
    client.post("/logout/")
    event = AuditEvent.objects.get(action="auth.signed_out")
    assert event.actor == ops_lead
    assert event.after == {"reason": "signed out", "ip": "127.0.0.1"}


def test_signing_out_when_not_signed_in_records_nothing(client):
    client.post("/logout/")
    assert not AuditEvent.objects.filter(action="auth.signed_out").exists()


def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(client, ops_lead, settings):
    """The last X-Forwarded-For entry is the proxy's own; earlier ones are the client's word."""
    settings.BEHIND_TLS_PROXY = True
    client.post(
        "/login/",
        {"username": "ops", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="6.6.6.6, 10.4.4.4",
    )
    assert AuditEvent.objects.get(action="auth.signed_in").after == {"ip": "10.4.4.4"}


def test_a_forged_forwarded_address_falls_back_to_the_connection(client, ops_lead, settings):
    settings.BEHIND_TLS_PROXY = True
    response = client.post(
        "/login/", {"username": "ops", "password": "guess"}, HTTP_X_FORWARDED_FOR="not-an-ip"
    )
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="auth.sign_in_failed").after["ip"] == "127.0.0.1"
