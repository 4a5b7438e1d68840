"""The permission matrix: every route and method, for every role, on the demo data.

The routes are found by reflection — the URL resolver for pages, each DRF route's
actions for the API — and every one must have a row in ``RULES`` (a route added
without one fails ``test_every_route_has_an_explicit_rule``). Only sign-in, sign-out,
health and the API schema are open; the Django admin keeps its own staff sign-in.

A cell is one request: GET for reads; POST (PATCH/PUT for the API's detail routes)
with an empty body for writes. A role the table lets in must not be refused
(401/403/404/405) — reaching the view is enough, a 400 for the empty body is fine —
and every other role must be. Each write is rolled back, so no cell changes what
the next one sees. Object rules within an allowed role (which KPI, which sign-off,
whose import job)
are tested beside each app (``tests/kpis/test_object_rules.py``,
``tests/governance/test_separation_of_duties.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROLES = ("anonymous", "ops", "exec", "owner", "it", "security", "legal", "admin")
OPEN = frozenset(ROLES)
EVERYONE = OPEN - {"anonymous"}  # signed in with a role
WRITERS = EVERYONE - {"exec"}
NOBODY: frozenset[str] = frozenset()
ADMIN = frozenset({"admin"})
OPS = frozenset({"ops", "admin"})
MANAGERS = frozenset({"ops", "owner", "admin"})  # ops leads, product owners, admins
OWNERS = frozenset({"owner", "admin"})
REVIEWERS = frozenset({"it", "security", "legal"})
SIGNERS = REVIEWERS | {"owner"}
GOVERN = REVIEWERS | MANAGERS
VENDORS = REVIEWERS | ADMIN
ADMIN_SITE = "admin"  # the Django admin: its own sign-in, staff only

R, W = "GET", "POST"

# route name -> {method: roles that may}; every page is asked GET and POST.
PAGES: dict[str, dict[str, frozenset[str]]] = {
    "home": {R: EVERYONE, W: NOBODY},
    "healthz": {R: OPEN, W: NOBODY},
    "needs_badge": {R: EVERYONE, W: NOBODY},  # the navigation's "Needs you N"
    "login": {R: OPEN, W: OPEN},
    "logout": {R: NOBODY, W: OPEN},
    "usecases:portfolio": {R: EVERYONE, W: NOBODY},
    "usecases:intake": {R: OPS, W: OPS},
    "usecases:import": {R: OPS, W: OPS},
    "usecases:import_job": {R: OPS, W: NOBODY},  # its sender (ops) and admins
    "usecases:onboarding": {R: OPS, W: OPS},
    "usecases:onboarding_sample": {R: OPS, W: NOBODY},
    "usecases:onboarding_columns": {R: OPS, W: NOBODY},
    "usecases:onboarding_job": {R: OPS, W: OPS},  # its sender (ops) and admins
    "usecases:onboarding_confirm": {R: NOBODY, W: OPS},
    "usecases:onboarding_errors": {R: OPS, W: NOBODY},
    "usecases:sensitivity": {R: EVERYONE, W: NOBODY},
    "usecases:scoring_models": {R: EVERYONE, W: ADMIN},
    "usecases:teams": {R: EVERYONE, W: OWNERS},
    "usecases:custom_fields": {R: ADMIN, W: ADMIN},
    "usecases:custom_field_edit": {R: ADMIN, W: ADMIN},
    "usecases:detail": {R: EVERYONE, W: NOBODY},
    "usecases:edit": {R: ADMIN, W: ADMIN},
    "usecases:score": {R: NOBODY, W: OPS},
    "usecases:reveal": {R: NOBODY, W: OPS},
    "usecases:move_stage": {R: NOBODY, W: OWNERS},
    "usecases:invite": {R: NOBODY, W: OWNERS},  # admins and the unit's product owner
    # An invited contact sets their password: the link's token is the key, so it is open.
    "password_reset_confirm": {R: OPEN, W: OPEN},
    "kpis:index": {R: EVERYONE, W: NOBODY},
    "kpis:portfolio": {R: EVERYONE, W: NOBODY},
    "kpis:data": {R: EVERYONE, W: MANAGERS},
    "kpis:batch": {R: EVERYONE, W: NOBODY},
    "kpis:usecase": {R: EVERYONE, W: NOBODY},
    "kpis:kpi_add": {R: MANAGERS, W: MANAGERS},
    "kpis:annotation_add": {R: NOBODY, W: WRITERS},
    "kpis:review": {R: EVERYONE, W: NOBODY},
    "kpis:review_week": {R: EVERYONE, W: NOBODY},
    "kpis:kpi": {R: EVERYONE, W: MANAGERS},  # check-ins: the KPI's owner and team
    "kpis:kpi_edit": {R: MANAGERS, W: MANAGERS},
    "governance:index": {R: EVERYONE, W: NOBODY},
    "governance:policy": {R: EVERYONE, W: NOBODY},
    "governance:policy_new": {R: ADMIN, W: ADMIN},
    "governance:usecase": {R: EVERYONE, W: MANAGERS},
    "governance:worker_new": {R: OWNERS, W: OWNERS},
    "governance:incident_new": {R: WRITERS, W: WRITERS},
    "governance:queue": {R: EVERYONE, W: NOBODY},
    "governance:review": {R: EVERYONE, W: NOBODY},
    "governance:review_checklist_save": {R: NOBODY, W: GOVERN},
    "governance:review_checklist": {R: NOBODY, W: GOVERN},
    "governance:evidence_file": {R: EVERYONE, W: NOBODY},
    "governance:review_sign_off": {R: NOBODY, W: SIGNERS | ADMIN},
    "governance:workers": {R: EVERYONE, W: NOBODY},
    "governance:worker": {R: EVERYONE, W: NOBODY},
    "governance:worker_edit": {R: OWNERS, W: OWNERS},
    "governance:worker_token": {R: NOBODY, W: OWNERS},
    "governance:worker_pause": {R: NOBODY, W: REVIEWERS | OWNERS},
    "governance:worker_resume": {R: NOBODY, W: OWNERS},
    "governance:release_new": {R: NOBODY, W: OWNERS},
    "governance:release_rollback": {R: NOBODY, W: OWNERS},
    "governance:incidents": {R: EVERYONE, W: NOBODY},
    "governance:incident": {R: EVERYONE, W: NOBODY},
    "governance:incident_step": {R: NOBODY, W: WRITERS},
    "governance:incident_close": {R: NOBODY, W: WRITERS},
    "governance:vendors": {R: EVERYONE, W: NOBODY},
    "governance:vendor_new": {R: VENDORS, W: VENDORS},
    "governance:vendor_edit": {R: VENDORS, W: VENDORS},
    "governance:audit": {R: EVERYONE, W: NOBODY},
    # A person's own profile and tokens (whose token: tests/accounts/test_tokens.py).
    "accounts:profile": {R: EVERYONE, W: NOBODY},
    "accounts:token_create": {R: NOBODY, W: EVERYONE},
    "accounts:token_revoke": {R: NOBODY, W: EVERYONE},
    "accounts:digest": {R: NOBODY, W: EVERYONE},  # one's own weekly email, on or off
}

# API route name -> {method: roles that may}; the methods are the route's DRF actions.
API: dict[str, dict[str, frozenset[str]]] = {
    "api-schema": {R: EVERYONE},
    "api-usecase-list": {R: EVERYONE, W: OPS},
    "api-usecase-import-file": {W: OPS},
    "api-usecase-import-job-detail": {R: OPS},  # its sender (ops) and admins
    "api-usecase-onboarding-list": {W: OPS},
    "api-usecase-onboarding-detail": {R: OPS},  # its sender (ops) and admins
    "api-usecase-onboarding-mapping": {W: OPS},
    "api-usecase-onboarding-confirm": {W: OPS},
    "api-usecase-detail": {R: EVERYONE, "PUT": ADMIN, "PATCH": ADMIN},
    "api-usecase-move": {W: OWNERS},
    "api-usecase-scores": {R: EVERYONE, W: OPS},
    "api-usecase-submit": {W: ADMIN},
    "api-kpi-list": {R: EVERYONE, W: MANAGERS},
    "api-kpi-detail": {R: EVERYONE, "PUT": MANAGERS, "PATCH": MANAGERS},
    "api-measurement-list": {R: EVERYONE, W: MANAGERS},
    "api-snapshot-list": {R: EVERYONE},
    "api-snapshot-detail": {R: EVERYONE},
    "api-checkin-list": {R: EVERYONE, W: WRITERS},
    "api-annotation-list": {R: EVERYONE, W: WRITERS},
    "api-alert-list": {R: EVERYONE},
    "api-alert-detail": {R: EVERYONE},
    "lane-list": {R: EVERYONE},
    "lane-detail": {R: EVERYONE},
    "review-list": {R: EVERYONE},
    "review-detail": {R: EVERYONE},
    "review-checklist": {W: GOVERN},
    "review-sign-off": {W: SIGNERS | ADMIN},
    "aiworker-list": {R: EVERYONE, W: OWNERS},
    "aiworker-detail": {R: EVERYONE, "PUT": OWNERS, "PATCH": OWNERS},
    "aiworker-pause": {W: REVIEWERS | OWNERS},
    "aiworker-resume": {W: OWNERS},
    "aiworker-status": {R: EVERYONE},
    "release-list": {R: EVERYONE, W: OWNERS},
    "release-detail": {R: EVERYONE},
    "release-rollback": {W: OWNERS},
    "incident-list": {R: EVERYONE, W: WRITERS},
    "incident-detail": {R: EVERYONE},
    "incident-close": {W: WRITERS},
    "incident-step": {W: WRITERS},
    "auditevent-list": {R: EVERYONE},
    "auditevent-detail": {R: EVERYONE},
}

# The fields a page's write needs to reach its permission check (demo object keys).
BODIES: dict[str, dict[str, str]] = {"usecases:teams": {"team": "team"}}

# Which demo object fills each URL argument of a route (see ``demo_objects``).
ARGUMENTS: dict[str, dict[str, str]] = {
    "usecases:detail": {"pk": "use_case"},
    "usecases:import_job": {"pk": "import_job"},
    "usecases:custom_field_edit": {"pk": "custom_field"},
    "usecases:onboarding_job": {"pk": "onboarding_job"},
    "usecases:onboarding_confirm": {"pk": "onboarding_job"},
    "usecases:onboarding_errors": {"pk": "onboarding_job"},
    "usecases:edit": {"pk": "use_case"},
    "usecases:score": {"pk": "use_case"},
    "usecases:reveal": {"pk": "use_case"},
    "usecases:move_stage": {"pk": "use_case"},
    "usecases:invite": {"pk": "use_case"},
    "password_reset_confirm": {"uidb64": "uidb64", "token": "token"},
    "kpis:batch": {"pk": "batch"},
    "kpis:usecase": {"pk": "use_case"},
    "kpis:kpi_add": {"use_case_pk": "use_case"},
    "kpis:review_week": {"week": "week"},
    "kpis:kpi": {"pk": "kpi"},
    "kpis:kpi_edit": {"pk": "kpi"},
    "governance:usecase": {"pk": "use_case"},
    "governance:worker_new": {"pk": "use_case"},
    "governance:incident_new": {"pk": "use_case"},
    "governance:review": {"pk": "review"},
    "governance:review_checklist_save": {"pk": "review"},
    "governance:review_checklist": {"pk": "review", "item_pk": "item"},
    "governance:evidence_file": {"pk": "review", "file_pk": "evidence"},
    "governance:review_sign_off": {"pk": "review", "sign_off_pk": "sign_off"},
    "governance:worker": {"pk": "worker"},
    "governance:worker_edit": {"pk": "worker"},
    "governance:worker_token": {"pk": "worker"},
    "governance:worker_pause": {"pk": "worker"},
    "governance:worker_resume": {"pk": "worker"},
    "governance:release_new": {"pk": "worker"},
    "governance:release_rollback": {"pk": "worker", "release_pk": "release"},
    "governance:incident": {"pk": "incident"},
    "governance:incident_step": {"pk": "incident", "step_pk": "step"},
    "governance:incident_close": {"pk": "incident"},
    "governance:vendor_edit": {"pk": "vendor"},
    "api-usecase-detail": {"pk": "use_case"},
    "api-usecase-import-job-detail": {"pk": "import_job"},
    "api-usecase-onboarding-detail": {"pk": "onboarding_job"},
    "api-usecase-onboarding-mapping": {"pk": "onboarding_job"},
    "api-usecase-onboarding-confirm": {"pk": "onboarding_job"},
    "api-usecase-move": {"pk": "use_case"},
    "api-usecase-scores": {"pk": "use_case"},
    "api-usecase-submit": {"pk": "use_case"},
    "api-kpi-detail": {"pk": "kpi"},
    "api-snapshot-detail": {"pk": "snapshot"},
    "api-alert-detail": {"pk": "alert"},
    "lane-detail": {"use_case": "use_case"},
    "review-detail": {"pk": "review"},
    "review-checklist": {"pk": "review"},
    "review-sign-off": {"pk": "review"},
    "aiworker-detail": {"pk": "worker"},
    "aiworker-pause": {"pk": "worker"},
    "aiworker-resume": {"pk": "worker"},
    "aiworker-status": {"pk": "worker"},
    "release-detail": {"pk": "release"},
    "release-rollback": {"pk": "release"},
    "incident-detail": {"pk": "incident"},
    "incident-close": {"pk": "incident"},
    "incident-step": {"pk": "incident"},
    "auditevent-detail": {"pk": "audit_event"},
}


def discovered_routes() -> Iterator[tuple[str, frozenset[str] | None]]:
    """Every named route: ``(name, DRF methods)`` — methods ``None`` for a plain page.

    The Django admin is one entry (``admin``): it is a site of its own with its own sign-in.
    """

    def walk(patterns: list[Any], namespace: str) -> Iterator[tuple[str, frozenset[str] | None]]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == ADMIN_SITE:
                    yield ADMIN_SITE, None
                    continue
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}{entry.name or entry.pattern}"
                actions = getattr(entry.callback, "actions", None)
                # DRF answers HEAD with the GET action: it is the GET cell.
                methods = {m.upper() for m in actions or ()} - {"HEAD"}
                yield name, frozenset(methods) if actions else None

    yield from walk(get_resolver().url_patterns, "")


def test_every_route_has_an_explicit_rule():
    """A page or API action added without a row in the table fails here, naming it."""
    missing = []
    for name, methods in discovered_routes():
        if name == ADMIN_SITE:
            continue
        if methods is None:
            if name not in PAGES and name not in API:
                missing.append(f"page {name}")
            continue
        rules = API.get(name, {})
        missing += [f"API {name} {method}" for method in sorted(methods - set(rules))]
    assert missing == [], "no rule in the permission matrix for:\n" + "\n".join(missing)


def test_the_table_names_no_route_that_is_gone_and_only_the_allowed_routes_are_open():
    found = {name for name, _ in discovered_routes()}
    assert set(PAGES) | set(API) <= found
    open_routes = {
        name
        for name, rules in {**PAGES, **API}.items()
        if any("anonymous" in roles for roles in rules.values())
    }
    assert open_routes <= {"login", "logout", "healthz", "api-schema", "password_reset_confirm"}
    assert {"login", "logout", "healthz"} <= open_routes
    assert ADMIN_SITE in found


def demo_objects() -> dict[str, Any]:
    """The demo portfolio's objects each URL argument names (an evidence file added)."""
    from audit.models import AuditEvent
    from governance.models import AIWorker, EvidenceFile, Incident, Review, Vendor
    from kpis.models import Alert, IngestBatch, Snapshot
    from usecases.models import CustomField, ImportJob

    worker = AIWorker.objects.select_related("use_case").order_by("pk").first()
    review = Review.objects.order_by("pk").first()
    item = review.checklist.order_by("pk").first()
    evidence = EvidenceFile(item=item)
    evidence.file.save("matrix.txt", ContentFile(b"evidence"), save=True)
    incident = Incident.objects.order_by("pk").first()
    use_case = worker.use_case
    return {
        "use_case": use_case,
        "kpi": use_case.kpis.order_by("pk").first(),
        "batch": IngestBatch.objects.order_by("pk").first(),
        "snapshot": Snapshot.objects.order_by("pk").first(),
        "alert": Alert.objects.order_by("pk").first(),
        "week": "2026-01-05",
        "uidb64": "MQ",
        "token": "not-a-token",
        "team": use_case.team,
        "review": review,
        "item": item,
        "evidence": evidence,
        "sign_off": review.sign_offs.order_by("pk").first(),
        "worker": worker,
        "release": worker.releases.order_by("pk").first(),
        "incident": incident,
        "step": incident.steps.order_by("pk").first(),
        "vendor": Vendor.objects.order_by("pk").first(),
        "audit_event": AuditEvent.objects.order_by("pk").first(),
        "custom_field": CustomField.objects.create(key="matrix", label="Matrix", kind="text"),
        "import_job": ImportJob.objects.create(
            created_by=get_user_model().objects.get(username="ops"), filename="matrix.csv"
        ),
        "onboarding_job": ImportJob.objects.create(
            created_by=get_user_model().objects.get(username="ops"),
            filename="matrix.csv",
            source="matrix",
            state="mapping",
            mapping={"phase": "mapping", "header": ["title"], "columns": {"title": "title"}},
        ),
    }


def _url(name: str, objects: dict[str, Any]) -> str:
    kwargs = {
        argument: getattr(objects[key], "pk", objects[key])
        for argument, key in ARGUMENTS.get(name, {}).items()
    }
    return reverse(name, kwargs=kwargs)


def _client(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _ask(client: Client, name: str, method: str, url: str, body: dict[str, Any]) -> HttpResponse:
    """One cell: a GET, or a write with an empty body that is rolled back afterwards."""
    if method == R:
        return client.get(url)
    with transaction.atomic():
        if name in API:
            response = client.generic(method, url, "{}", content_type="application/json")
        else:
            response = client.post(url, body)
        transaction.set_rollback(True)
    return response


def _wrong(role: str, name: str, allowed: bool, response: HttpResponse) -> str | None:
    """Why the answer breaks the table (``None`` if it keeps it)."""
    status = response.status_code
    if status >= 500 and not (name == "healthz" and status == 503):
        return f"answered {status}"  # (health answers 503 while the test has no worker)
    refused = status in (401, 403, 404, 405)
    if role == "anonymous" and not allowed and name not in API and status == 302:
        refused = response["Location"].startswith("/login/")  # pages send them to sign in
    if allowed and refused:
        return f"refused ({status}) a role the table lets in"
    if not allowed and not refused:
        return f"let in ({status}) a role the table refuses"
    return None


@pytest.mark.django_db
def test_every_cell_of_the_matrix_answers_as_the_table_says():
    """GIVEN the demo portfolio WHEN each role asks each route with each method
    THEN the roles the table names get through and every other role is refused."""
    from django.contrib.auth import get_user_model

    from opsai.demo import demo_load

    demo_load()
    objects = demo_objects()
    users = {user.username: user for user in get_user_model().objects.all()}
    problems = []
    cells = 0
    for role in ROLES:
        client = _client(users.get(role))
        for name, rules in {**PAGES, **API}.items():
            url = _url(name, objects)
            body = {field: objects[key].pk for field, key in BODIES.get(name, {}).items()}
            for method in (R, W) if name in PAGES else rules:
                allowed = role in rules.get(method, NOBODY)
                # Signing out ends the session: that cell gets a client of its own.
                asking = _client(users.get(role)) if name == "logout" else client
                cells += 1
                wrong = _wrong(role, name, allowed, _ask(asking, name, method, url, body))
                if wrong:
                    problems.append(f"{role:9} {method:5} {name} ({url}): {wrong}")
    assert problems == [], "\n".join(problems)
    assert cells > 700


@pytest.mark.django_db
def test_the_django_admin_is_for_staff_only(client, ops_lead, admin_user):
    """The admin site keeps its own sign-in: anyone who is not staff is sent to it."""
    assert client.get("/admin/").headers["Location"].startswith("/admin/login/")
    client.force_login(ops_lead)
    assert client.get("/admin/").headers["Location"].startswith("/admin/login/")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
