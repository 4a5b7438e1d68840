"""Security headers: a Content-Security-Policy without inline script on every page, and the
production settings pass Django's deploy check (HSTS, secure cookies, SSL redirect)."""

from __future__ import annotations

import json
import re
import secrets

import pytest
from django.db import connection

from tests.opsai.test_config import run
from tests.opsai.test_every_page import concrete_paths_for_demo

PRODUCTION = {
    "OPSAI_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "opsai.example.com,testserver",
}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {part[0]: part[1:] for part in parts}


def assert_strict_policy(path: str, response) -> list[str]:
    """Every problem with this page's policy and markup, as lines naming the page."""
    problems = []
    if "Content-Security-Policy" not in response:
        return [f"{path}: no Content-Security-Policy header"]
    policy = directives(response)
    script_src = policy.get("script-src", policy.get("default-src"))
    if script_src != ["'self'"]:
        problems.append(f"{path}: script-src is {script_src}")
    html = response.content.decode()
    problems += [f"{path}: inline script {tag}" for tag in INLINE_SCRIPT.findall(html)]
    problems += [f"{path}: inline handler {tag[:60]}" for tag in INLINE_HANDLER.findall(html)]
    return problems


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_every_page_sends_a_policy_that_refuses_inline_script(client):
    """GIVEN the demo portfolio WHEN an admin opens every page (and a visitor the sign-in page)
    THEN each answer has a CSP whose script-src is only 'self', and no page holds an inline
    script or an inline event handler that the policy would block."""
    from django.contrib.auth import get_user_model

    from opsai.demo import demo_load

    demo_load()
    problems = assert_strict_policy("/login/", client.get("/login/"))
    client.force_login(get_user_model().objects.get(username="admin"))
    pages = 0
    for path in concrete_paths_for_demo():
        if path.startswith("/api/"):
            continue
        response = client.get(path)
        if "text/html" in response.get("Content-Type", ""):
            pages += 1
            problems += assert_strict_policy(path, response)
    assert problems == [], "\n".join(problems)
    assert pages > 30


def test_the_policy_names_every_directive_it_relies_on(client, db):
    policy = directives(client.get("/login/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in policy["script-src"]


def test_the_lockout_page_has_the_policy_too(client, ops_lead):
    for _ in range(5):
        response = client.post("/login/", {"username": "ops", "password": "wrong"})
    assert response.status_code == 429
    assert assert_strict_policy("lockout", response) == []


def _test_database_url() -> str:
    """The URL of the test database, for a subprocess."""
    settings_dict = connection.settings_dict
    return (
        f"postgres://{settings_dict['USER'] or 'postgres'}@{settings_dict['HOST']}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )


def test_the_deploy_check_passes_with_production_settings(db):
    """``manage.py check --deploy --fail-level WARNING`` with production's variables, on the
    migrated test database (the check also builds the API schema from it)."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DATABASE_URL=_test_database_url(),
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


PROBE = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
plain = client.get("/login/", HTTP_HOST="opsai.example.com")
health = client.get("/healthz", HTTP_HOST="opsai.example.com")
proxied = client.get("/", HTTP_HOST="opsai.example.com", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "health": [health.status_code, health.get("Strict-Transport-Security", "")],
    "proxied": [proxied.status_code, proxied.get("Location", "")],
    "hsts": proxied.get("Strict-Transport-Security", ""),
    "cookies_secure": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
}))
"""


def test_production_redirects_to_https_and_sends_hsts_and_secure_cookies(db):
    """GIVEN production settings (in a fresh process: settings are read once at start)
    WHEN plain http and https-behind-the-proxy requests arrive
    THEN http is redirected to https (but /healthz answers, for the container's check), and
    https (as the proxy's X-Forwarded-Proto says) answers with a year of HSTS."""
    result = run(
        ["-c", PROBE],
        DJANGO_SETTINGS_MODULE="opsai.settings",
        DATABASE_URL=_test_database_url(),
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["plain"] == [301, "https://opsai.example.com/login/"]
    # Plain http to /healthz is answered (503 here: no worker beats), not redirected.
    assert answer["health"][0] in (200, 503)
    assert answer["health"][1] == ""  # and HSTS only ever goes out over https
    assert answer["proxied"] == [302, "/login/?next=/"]  # to sign in, not to https again
    assert answer["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert answer["cookies_secure"] == [True, True]
