"""API tokens: knox's hashed, expiring tokens, made and revoked on the profile page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse
from knox.crypto import hash_token

from accounts.models import ApiToken
from accounts.selectors import token_lifetime_choices
from accounts.services import api_token_create
from audit.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
API = "/api/usecases/"
PROFILE = "/profile/"


def _api(key: str) -> int:
    """The status of one API request sent with ``key`` (no session)."""
    return Client().get(API, HTTP_AUTHORIZATION=f"Token {key}").status_code


def _create_on_page(client: Client, name: str = "Nightly export", days: int = 30) -> str:
    """Create a token through the profile page; returns the key the page shows."""
    response = client.post(reverse("accounts:token_create"), {"name": name, "days": days})
    assert response.status_code == 200
    return response.context["new_key"]


def _revoke_on_page(client: Client, token: ApiToken) -> int:
    return client.post(reverse("accounts:token_revoke"), {"token": str(token.uid)}).status_code


def test_a_token_authenticates_the_api_with_the_token_prefix(ops_lead):
    _, key = api_token_create(user=ops_lead, name="Script", days=30)
    response = Client().get(API, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.wsgi_request.user == ops_lead


def test_a_missing_or_unknown_token_answers_401_with_the_challenge(ops_lead):
    anonymous = Client().get(API)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    assert _api("0" * 64) == 401


def test_the_database_holds_no_plain_key(ops_lead):
    token, key = api_token_create(user=ops_lead, name="Script", days=30)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert not any(key in str(value) for value in rows[0])
    assert token.digest == hash_token(key)  # only knox's SHA-512 digest identifies it
    # Nor does the audit trail hold it.
    trail = list(AuditEvent.objects.values_list("before", "after"))
    assert trail and key not in str(trail)


def test_an_expired_token_is_refused(ops_lead):
    with time_machine.travel(START, tick=False) as traveller:
        _, key = api_token_create(user=ops_lead, name="Week", days=7)
        traveller.shift(timedelta(days=7) - timedelta(minutes=1))
        assert _api(key) == 200
        traveller.shift(timedelta(minutes=2))
        assert _api(key) == 401
    assert not ApiToken.objects.exists()  # knox deletes a token once it finds it expired


def test_a_revoked_token_is_refused(client, ops_lead):
    client.force_login(ops_lead)
    key = _create_on_page(client)
    assert _api(key) == 200
    assert _revoke_on_page(client, ApiToken.objects.get()) == 302
    assert _api(key) == 401
    assert not ApiToken.objects.exists()


def test_the_last_use_is_recorded_at_most_once_a_minute(client, ops_lead):
    with time_machine.travel(START, tick=False) as traveller:
        token, key = api_token_create(user=ops_lead, name="Script", days=30)
        assert token.last_used is None
        traveller.shift(timedelta(hours=1))
        assert _api(key) == 200
        token.refresh_from_db()
        assert token.last_used == START + timedelta(hours=1)
        traveller.shift(timedelta(seconds=30))
        assert _api(key) == 200
        token.refresh_from_db()
        assert token.last_used == START + timedelta(hours=1)  # no write within the minute
        traveller.shift(timedelta(seconds=31))
        assert _api(key) == 200
        token.refresh_from_db()
        assert token.last_used == START + timedelta(hours=1, seconds=61)
        client.force_login(ops_lead)
        assert "2 Mar 2026, 09:01" in client.get(PROFILE).content.decode()


def test_the_profile_shows_a_new_key_once(client, ops_lead):
    client.force_login(ops_lead)
    response = client.post(reverse("accounts:token_create"), {"name": "Export", "days": 30})
    key = response.context["new_key"]
    assert key in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    again = client.get(PROFILE).content.decode()
    assert key not in again
    assert key[:15] not in again  # not even the part knox keeps for lookup
    assert "Export" in again
    assert _api(key) == 200


def test_the_profile_lists_tokens_with_their_dates_and_the_roles(client, make_user):
    reviewer = make_user("Reviewer", username="sec", specialty="security")
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(reviewer)
        api_token_create(user=reviewer, name="Evidence sync", days=90)
        traveller.shift(timedelta(minutes=5))
        page = client.get(PROFILE)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Reviewer" in body and "Security" in body
    assert "Evidence sync" in body
    assert "2 Mar 2026, 08:00" in body  # created
    assert "31 May 2026, 08:00" in body  # expires, 90 days on
    assert f'href="{PROFILE}" data-testid="signed-in-user"' in body  # the name links here


def test_a_new_token_lasts_the_lifetime_chosen(client, ops_lead):
    client.force_login(ops_lead)
    with time_machine.travel(START, tick=False):
        _create_on_page(client, days=7)
    assert ApiToken.objects.get().expiry == START + timedelta(days=7)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "days": 30}, "name", "This field is required."),
        ({"name": "   ", "days": 30}, "name", "This field is required."),
        ({"name": "x" * 101, "days": 30}, "name", "at most 100 characters"),
        ({"name": "Forever", "days": 3650}, "days", "Select a valid choice"),
        ({"name": "Forever", "days": "soon"}, "days", "Select a valid choice"),
    ],
)
def test_bad_input_is_named_and_nothing_is_made(client, ops_lead, data, field, message):
    client.force_login(ops_lead)
    response = client.post(reverse("accounts:token_create"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert response.context.get("new_key") is None
    assert not ApiToken.objects.exists()


def test_the_service_refuses_a_lifetime_past_the_maximum(ops_lead, settings):
    from django.core.exceptions import ValidationError

    settings.TOKEN_MAX_DAYS = 60
    assert token_lifetime_choices() == [7, 30, 60]
    with pytest.raises(ValidationError, match="7, 30, 60 days"):
        api_token_create(user=ops_lead, name="Long", days=90)
    assert not ApiToken.objects.exists()


def test_nobody_revokes_another_persons_token(client, ops_lead, executive):
    theirs, key = api_token_create(user=executive, name="Exec's", days=30)
    client.force_login(ops_lead)
    assert _revoke_on_page(client, theirs) == 404
    assert _api(key) == 200
    assert "Exec's" not in client.get(PROFILE).content.decode()


def test_a_revoke_naming_no_token_says_so(client, ops_lead):
    client.force_login(ops_lead)
    response = client.post(reverse("accounts:token_revoke"), {"token": "not-a-uuid"}, follow=True)
    assert "Token: choose which of your tokens to revoke." in response.content.decode()


def test_creating_and_revoking_write_audit_events(client, ops_lead):
    client.force_login(ops_lead)
    _create_on_page(client, name="Export", days=30)
    token = ApiToken.objects.get()
    _revoke_on_page(client, token)
    created, revoked = AuditEvent.objects.filter(action__startswith="token.").order_by("pk")
    assert (created.action, created.actor, created.after["name"]) == (
        "token.created",
        ops_lead,
        "Export",
    )
    assert created.after["token"] == str(token.uid)
    assert (revoked.action, revoked.actor, revoked.before["token"]) == (
        "token.revoked",
        ops_lead,
        str(token.uid),
    )


def test_an_admin_revokes_anyones_token_in_the_admin(client, ops_lead, admin_user):
    token, key = api_token_create(user=ops_lead, name="Leaked", days=30)
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    url = reverse("admin:accounts_apitoken_delete", args=[token.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert _api(key) == 401
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.actor, event.before["owner"]) == (admin_user, "ops")


def test_a_deactivated_persons_token_and_session_stop_working(ops_lead):
    _, key = api_token_create(user=ops_lead, name="Script", days=30)
    browser = Client()
    assert browser.post("/login/", {"username": "ops", "password": PASSWORD}).status_code == 302
    assert browser.get(PROFILE).status_code == 200
    ops_lead.is_active = False
    ops_lead.save()
    assert _api(key) == 401
    response = browser.get(PROFILE)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in browser.session  # the session itself was ended
