"""Sign-in lockout (django-axes): repeated failures for one username from one address lock
that pair out for a while, and the page says so in words."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username: str, times: int, address: str = "127.0.0.1") -> list[int]:
    """Try a wrong password ``times`` times; the status of each answer."""
    return [sign_in(client, username, "wrong-password", address).status_code for _ in range(times)]


def test_the_defaults_are_five_failures_and_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_four_failures_still_let_the_right_password_in(client, ops_lead):
    assert fail(client, "ops", 4) == [200] * 4
    response = sign_in(client, "ops", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code in (200, 302)
    assert "_auth_user_id" in client.session


def test_five_failures_lock_the_username_from_that_address(client, ops_lead):
    """GIVEN five wrong passwords for ops from one address
    WHEN the right password is tried from there
    THEN it is refused (429) with a page that says why, for how long and what to do."""
    # The fifth failure itself is answered with the lockout page.
    assert fail(client, "ops", 5) == [200, 200, 200, 200, 429]
    response = sign_in(client, "ops", PASSWORD)
    assert response.status_code == 429
    text = response.content.decode()
    assert "Sign-in locked for 15 minutes" in text
    assert "5 failed sign-ins in a row" in text
    assert "ask an opsai admin" in text
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends_after_the_cool_off(client, ops_lead):
    fail(client, "ops", 5)
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert sign_in(client, "ops", PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert sign_in(client, "ops", PASSWORD).status_code == 302


def test_the_lockout_holds_one_username_and_one_address_only(client, ops_lead, executive):
    fail(client, "ops", 5)
    # The same person from another address, and another person from this one, sign in.
    assert sign_in(client, "ops", PASSWORD, address="10.0.0.9").status_code == 302
    client.logout()
    assert sign_in(client, "exec", PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, ops_lead):
    fail(client, "ops", 4)
    assert sign_in(client, "ops", PASSWORD).status_code == 302
    client.logout()
    fail(client, "ops", 4)
    assert sign_in(client, "ops", PASSWORD).status_code == 302


def test_the_admin_sign_in_is_locked_too(client, admin_user):
    for _ in range(5):
        client.post("/admin/login/", {"username": "admin", "password": "wrong-password"})
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429
    assert "Sign-in locked" in response.content.decode()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SIGNIN_FAILURE_LIMIT", "0"),
        ("SIGNIN_LOCKOUT_MINUTES", "soon"),
        ("SESSION_IDLE_MINUTES", "-5"),
        ("SESSION_MAX_HOURS", "0"),
    ],
)
def test_a_bad_limit_stops_start_up_with_one_line(variable, value):
    from tests.opsai.test_config import assert_one_clear_line, run

    assert_one_clear_line(run(["manage.py", "check"], **{variable: value}), variable)


def test_the_limits_come_from_the_environment():
    from tests.opsai.test_config import run

    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME, s.SESSION_IDLE_TIMEOUT, "
        "s.SESSION_ABSOLUTE_LIFETIME, s.SESSION_COOKIE_AGE)"
    )
    result = run(
        ["-c", script],
        DJANGO_SETTINGS_MODULE="opsai.settings",
        SIGNIN_FAILURE_LIMIT="3",
        SIGNIN_LOCKOUT_MINUTES="60",
        SESSION_IDLE_MINUTES="10",
        SESSION_MAX_HOURS="8",
    )
    assert result.stdout.split("\n")[0] == "3 1:00:00 0:10:00 8:00:00 28800", result.stderr
