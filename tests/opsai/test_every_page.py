"""A guard over every URL: no page is reachable without sign-in and a role.

It walks the URL configuration, so a page added later is covered without anyone
remembering to write the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# The set-password link of an invitation: its one-time token is the key (issue 10).
OPEN_PATHS = {"/healthz", "/login/", "/logout/", "/accounts/reset/x/x/"}
# A person's own API tokens are theirs to make and revoke, whatever their role.
OWN_ACCOUNT_WRITES = {"/profile/tokens/", "/profile/tokens/revoke/", "/profile/digest/"}
CONVERTER_SAMPLES = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "path": "x",
}


def concrete_paths() -> Iterator[str]:
    """Every routable path with sample arguments (routes and DRF's regex routes)."""

    def concrete(route: str) -> str:
        route = route.lstrip("^").rstrip("$").replace("\\.", ".")
        route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)  # regex groups (DRF routers)
        return re.sub(
            r"<(?:(\w+):)?\w+>",
            lambda match: CONVERTER_SAMPLES.get(match.group(1) or "str", "x"),
            route,
        )

    def walk(patterns: list, prefix: str) -> Iterator[str]:
        for entry in patterns:
            route = concrete(str(entry.pattern))
            if prefix.startswith("admin/") or "(" in route or "[" in route:
                continue  # the admin has its own login; format-suffix variants repeat a route
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + route)
            elif isinstance(entry, URLPattern):
                yield "/" + prefix + route

    yield from walk(get_resolver().url_patterns, "")


PAGES = sorted(
    {p for p in concrete_paths() if p not in OPEN_PATHS and not p.startswith(("/admin/", "/api/"))}
)
API = sorted({p for p in concrete_paths() if p.startswith("/api/")})


def test_the_walk_finds_the_pages():
    assert "/" in PAGES
    assert "/api/usecases/" in API


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302, path
    assert response["Location"].startswith("/login/"), path


@pytest.mark.parametrize("path", PAGES)
def test_users_without_a_role_are_refused(client, roleless_user, path):
    client.force_login(roleless_user)
    assert client.get(path).status_code == 403, path


@pytest.mark.parametrize("path", API)
def test_the_api_refuses_anonymous_clients(client, path):
    assert client.get(path).status_code in (401, 403), path


@pytest.mark.parametrize("path", API)
def test_the_api_refuses_users_without_a_role(client, roleless_user, path):
    client.force_login(roleless_user)
    assert client.get(path).status_code in (403, 404), path


def concrete_paths_for_demo() -> list[str]:
    """Every page and API path, with sample ids replaced by real demo objects' ids."""
    return [p for p in concrete_paths() if not p.startswith("/admin/") and p not in OPEN_PATHS]


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_executives_only_read(client):
    """GIVEN the demo portfolio (sequences reset, so the sample id 1 names a real object)
    WHEN an executive POSTs to every page and API endpoint
    THEN each refuses (403) or does not take POSTs at all (405)."""
    from django.contrib.auth import get_user_model

    from opsai.demo import demo_load

    demo_load()
    client.force_login(get_user_model().objects.get(username="exec"))
    answers = {}
    for path in concrete_paths_for_demo():
        if path.startswith("/api/"):
            response = client.post(path, {}, content_type="application/json")
        else:
            response = client.post(path, {})
        answers[path] = response.status_code
    accepted = {
        path: status
        for path, status in answers.items()
        if status not in (403, 405) and path not in OWN_ACCOUNT_WRITES
    }
    assert accepted == {}, "\n".join(
        f"{path} answered {status}" for path, status in accepted.items()
    )
    assert len(answers) > 40


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_every_page_renders_a_clean_head_for_an_admin(client):
    """GIVEN the demo portfolio WHEN an admin opens every page
    THEN none fails, and no page content spills into <head> (a title holding a form once did)."""
    from django.contrib.auth import get_user_model

    from opsai.demo import demo_load

    demo_load()
    client.force_login(get_user_model().objects.get(username="admin"))
    problems = []
    for path in concrete_paths_for_demo():
        if path.startswith("/api/"):
            continue
        response = client.get(path)
        if response.status_code >= 500:
            problems.append(f"{path} answered {response.status_code}")
            continue
        if response.status_code != 200 or "text/html" not in response["Content-Type"]:
            continue
        html = response.content.decode()
        head = html[html.find("<head>") : html.find("</head>")]
        title = head[head.find("<title>") + 7 : head.find("</title>")]
        if "<" in title or "<form" in head or "<section" in head:
            problems.append(f"{path}: page content in <head>: {title[:60]!r}")
    assert problems == [], "\n".join(problems)
