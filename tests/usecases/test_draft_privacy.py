"""A draft is private to the people working on it; everyone else gets a 404, as for no object.

The people: its owner, its submitter (here not the owner), its team's product owner and
admins. The others: an ops lead of another team, an executive, the product owner of
another team, a reviewer. Once submitted, the use case is seen by all, as before.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from governance.selectors import governance_overview
from kpis.models import KPI, Annotation
from kpis.review import weekly_review
from kpis.selectors import kpi_list, portfolio_dashboard
from tests.kpis.factories import MeasurementFactory
from tests.usecases.factories import make_use_case
from usecases.models import Team, UseCase
from usecases.scoring import CRITERION_KEYS
from usecases.selectors import usecase_stage_counts, usecase_visible_to
from usecases.services import usecase_submit


def _body(response: Any) -> str:
    """A response's text, streamed (the portfolio CSV) or not."""
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


pytestmark = pytest.mark.django_db

TITLE = "Secret collections draft"
MISSING = 999_999  # no use case or KPI has this id

INSIDERS = ["owner", "submitter", "team_po", "admin"]
OUTSIDERS = ["other_ops", "executive", "other_po", "reviewer"]


@pytest.fixture
def people(make_user):
    """GIVEN a Finance draft submitted by one ops lead for another, and the cast around it."""
    cast = {
        "owner": make_user("Ops lead", username="drafter"),
        "submitter": make_user("Ops lead", username="submitter"),
        "team_po": make_user("Product owner", username="finance_po"),
        "admin": make_user("Admin", username="admin"),
        "other_ops": make_user("Ops lead", username="support_ops"),
        "executive": make_user("Executive", username="exec"),
        "other_po": make_user("Product owner", username="support_po"),
        "reviewer": make_user("Reviewer", username="sec", specialty="security"),
    }
    Team.objects.update_or_create(name="Finance", defaults={"product_owner": cast["team_po"]})
    Team.objects.update_or_create(name="Support", defaults={"product_owner": cast["other_po"]})
    # The other team's ops lead works on a submitted use case of their own.
    make_use_case(cast["other_ops"], "support_triage")
    return cast


@pytest.fixture
def draft(people):
    use_case = make_use_case(
        people["submitter"], "collections_outreach", submit=False, title=TITLE,
        owner=people["owner"],
    )  # fmt: skip
    assert use_case.is_draft and use_case.owner != use_case.submitted_by
    assert KPI.objects.filter(use_case=use_case).exists()  # the template's stack
    return use_case


def sheet_json(*values):
    data = dict(zip(CRITERION_KEYS, values, strict=True))
    data.update({f"{key}_rationale": "because" for key in CRITERION_KEYS})
    return data


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _api_calls(pk):
    """Every API endpoint that addresses the use case (method, url, body)."""
    return [
        ("get", f"/api/usecases/{pk}/", None),
        ("patch", f"/api/usecases/{pk}/", {"approvals_needed": 2}),
        ("put", f"/api/usecases/{pk}/", {"title": "Taken over"}),
        ("post", f"/api/usecases/{pk}/submit/", {}),
        ("get", f"/api/usecases/{pk}/scores/", None),
        ("post", f"/api/usecases/{pk}/scores/", sheet_json(3, 3, 3, 3, 3)),
        ("post", f"/api/usecases/{pk}/move/", {"to_stage": "rejected", "note": "x"}),
        ("get", f"/api/lanes/{pk}/", None),
    ]


# Pages that show the use case itself: a 404 for everyone who may not see it.
READ_PAGES = ("usecases:detail", "usecases:edit", "kpis:usecase", "governance:usecase")


def _page_calls(pk):
    return [
        *[("get", reverse(name, args=[pk]), None) for name in READ_PAGES],
        ("post", reverse("usecases:edit", args=[pk]), {"title": "Taken over"}),
        ("post", reverse("usecases:score", args=[pk]), {"value": "3"}),
        ("post", reverse("usecases:reveal", args=[pk]), {}),
        ("post", reverse("usecases:move_stage", args=[pk]), {"to_stage": "rejected"}),
        ("get", reverse("kpis:kpi_add", args=[pk]), None),
        ("get", reverse("governance:worker_new", args=[pk]), None),
        ("get", reverse("governance:incident_new", args=[pk]), None),
    ]


def _kpi_calls(kpi_pk):
    """The draft's KPI, addressed directly: its page, its edit page, the API."""
    return [
        ("page", reverse("kpis:kpi", args=[kpi_pk])),
        ("page", reverse("kpis:kpi_edit", args=[kpi_pk])),
        ("api", f"/api/kpis/{kpi_pk}/"),
    ]


def _status(client, method, url, body):
    kwargs = {"format": "json"} if isinstance(client, APIClient) and body is not None else {}
    return getattr(client, method)(url, body or {}, **kwargs).status_code


@pytest.mark.parametrize("who", OUTSIDERS)
def test_someone_else_gets_404_on_every_page_and_endpoint_of_the_draft(client, people, draft, who):
    """An outsider's answer for the draft is the answer for an id that does not exist.

    Reads are 404. Writes are 404 too, except an executive's, refused (403) for being
    read-only before any object is looked up — the same 403 a missing id gets, so
    nothing is revealed either way.
    """
    user = people[who]
    api = _api(user)
    client.force_login(user)
    for (method, url, body), (_, missing_url, _) in zip(
        _api_calls(draft.pk), _api_calls(MISSING), strict=True
    ):
        got = _status(api, method, url, body)
        assert got == _status(api, method, missing_url, body), (who, method, url)
        assert got == (403 if who == "executive" and method != "get" else 404), (who, method, url)
    for (method, url, body), (_, missing_url, _) in zip(
        _page_calls(draft.pk), _page_calls(MISSING), strict=True
    ):
        got = _status(client, method, url, body)
        assert got == _status(client, method, missing_url, body), (who, method, url)
        assert got in (403, 404), (who, method, url)
    for name in READ_PAGES:
        assert client.get(reverse(name, args=[draft.pk])).status_code == 404, (who, name)
    kpi = KPI.objects.filter(use_case=draft).first()
    for (kind, url), (_, missing_url) in zip(_kpi_calls(kpi.pk), _kpi_calls(MISSING), strict=True):
        caller = api if kind == "api" else client
        got = caller.get(url).status_code
        assert got == caller.get(missing_url).status_code, (who, url)
        # The edit page wants kpis.manage_kpis first: executives and reviewers get that 403.
        expected = 403 if url.endswith("/edit/") and who in ("executive", "reviewer") else 404
        assert got == expected, (who, url)
    # Sending a measurement into the draft's KPI: told it is unknown, as for a missing id
    # (executives and reviewers do not send measurements at all: a 403 either way).
    if who in ("other_ops", "other_po"):
        for kpi_id in (kpi.pk, MISSING):
            body = [{"kpi": kpi_id, "timestamp": "2026-01-05T00:00:00Z", "value": 1}]
            response = api.post("/api/measurements/", body, format="json")
            assert response.status_code == 400, (who, response.data)
            assert f"unknown KPI '{kpi_id}'" in str(response.data), (who, response.data)
            assert kpi.name not in str(response.data)
    assert UseCase.objects.get(pk=draft.pk).is_draft  # and nothing was changed
    assert UseCase.objects.get(pk=draft.pk).title == TITLE


@pytest.mark.parametrize("who", OUTSIDERS)
def test_someone_else_does_not_see_the_draft_in_any_list_count_or_export(
    client, people, draft, who
):
    user = people[who]
    client.force_login(user)
    page = client.get(reverse("usecases:portfolio"))
    assert page.status_code == 200
    assert draft.pk not in [row.pk for row in page.context["rows"]]
    assert TITLE not in page.content.decode()
    export = client.get(reverse("usecases:portfolio"), {"export": "csv"})
    assert export.status_code == 200
    assert TITLE not in _body(export)
    listed = _api(user).get("/api/usecases/").data["results"]
    # Only the other team's submitted use case: the filter hides the draft, not the rest.
    assert [row["title"] for row in listed] == ["Support triage"]
    kpi = KPI.objects.filter(use_case=draft).first()
    MeasurementFactory(kpi=kpi, timestamp=timezone.now(), value=42.0)
    for target in ({"use_case": draft}, {"kpi": kpi}):
        Annotation.objects.create(starts_at=timezone.now(), text="Secret launch", **target)
    Annotation.objects.create(starts_at=timezone.now(), text="Portfolio-wide")
    markers = _api(user).get("/api/annotations/").data["results"]
    assert [a["text"] for a in markers] == ["Portfolio-wide"]
    for url, query in [
        ("/api/kpis/", {"use_case": draft.pk}),
        ("/api/measurements/", {"kpi": kpi.pk}),
        ("/api/lanes/", {"use_case": draft.pk}),
    ]:
        data = _api(user).get(url, query).data
        assert (data["results"] if isinstance(data, dict) else data) == [], url
    assert all(kpi.use_case_id != draft.pk for kpi in kpi_list(viewer=user))
    kpi_page = client.get(reverse("kpis:index"))
    assert TITLE not in kpi_page.content.decode()
    # Nor is its KPI offered on the data page's forms.
    offered = client.get(reverse("kpis:data")).context["measure_form"].fields["kpi"].queryset
    assert kpi not in offered and offered.exists()
    # Counts: the other team's use case (submitted, so in scoring), not the draft (in idea).
    counts = {c["value"]: c["count"] for c in usecase_stage_counts(user)}
    assert (counts["idea"], counts["scoring"]) == (0, 1)
    stages = dict(portfolio_dashboard(user)["stages"])
    assert (stages.get("Idea", 0), stages["Scoring"]) == (0, 1)
    lanes = governance_overview(viewer=user)["lanes"]
    assert sum(lane["count"] for lane in lanes) == 1
    assert TITLE not in client.get(reverse("governance:index")).content.decode()
    assert TITLE not in client.get(reverse("kpis:portfolio")).content.decode()
    # The audit trail (page, CSV, API) holds nothing about the draft or its KPIs.
    kpi_ids = {str(pk) for pk in KPI.objects.filter(use_case=draft).values_list("pk", flat=True)}
    assert TITLE not in client.get(reverse("governance:audit")).content.decode()
    trail = client.get(reverse("governance:audit"), {"export": "csv"})
    assert TITLE not in b"".join(trail.streaming_content).decode()
    events = _api(user).get("/api/audit-events/", {"page_size": 1000}).data
    events = events["results"] if isinstance(events, dict) else events
    assert events, "the other team's use case is still on the record"
    assert not [
        e for e in events
        if (e["object_type"], e["object_id"]) == ("usecases.usecase", str(draft.pk))
        or (e["object_type"] == "kpis.kpi" and e["object_id"] in kpi_ids)
    ]  # fmt: skip


@pytest.mark.parametrize("who", INSIDERS)
def test_the_people_working_on_the_draft_see_it_everywhere(client, people, draft, who):
    user = people[who]
    client.force_login(user)
    assert client.get(reverse("usecases:detail", args=[draft.pk])).status_code == 200
    assert client.get(reverse("kpis:usecase", args=[draft.pk])).status_code == 200
    assert client.get(reverse("governance:usecase", args=[draft.pk])).status_code == 200
    api = _api(user)
    assert api.get(f"/api/usecases/{draft.pk}/").status_code == 200
    page = client.get(reverse("usecases:portfolio"))
    assert draft.pk in [row.pk for row in page.context["rows"]]
    assert TITLE in _body(client.get(reverse("usecases:portfolio"), {"export": "csv"}))
    listed = api.get("/api/usecases/").data["results"]
    assert draft.pk in [row["id"] for row in listed]
    kpi = KPI.objects.filter(use_case=draft).first()
    assert client.get(reverse("kpis:kpi", args=[kpi.pk])).status_code == 200
    assert api.get(f"/api/kpis/{kpi.pk}/").status_code == 200
    assert api.get(f"/api/lanes/{draft.pk}/").status_code == 200
    offered = client.get(reverse("kpis:data")).context["measure_form"].fields["kpi"].queryset
    assert kpi in offered
    assert TITLE in client.get(reverse("governance:audit")).content.decode()
    Annotation.objects.create(starts_at=timezone.now(), text="Secret launch", use_case=draft)
    assert len(api.get("/api/annotations/").data["results"]) == 1
    MeasurementFactory(kpi=kpi, timestamp=timezone.now(), value=42.0)
    measurements = api.get("/api/measurements/", {"kpi": kpi.pk}).data
    assert len(measurements["results"] if isinstance(measurements, dict) else measurements) == 1
    counts = {c["value"]: c["count"] for c in usecase_stage_counts(user)}
    assert (counts["idea"], counts["scoring"]) == (1, 1)  # the draft, the other team's


def test_what_the_insiders_may_do_on_the_draft_is_unchanged(people, draft):
    """Seeing a draft is not editing it: the team's product owner sees it but the owner edits."""
    team_po = _api(people["team_po"])
    assert team_po.patch(f"/api/usecases/{draft.pk}/", {"approvals_needed": 2}).status_code == 403
    owner = _api(people["owner"])
    response = owner.patch(f"/api/usecases/{draft.pk}/", {"approvals_needed": 2}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["id"] == draft.pk


def test_after_submit_everyone_sees_it(client, people, draft):
    # WHEN its owner submits it through the API
    response = _api(people["owner"]).post(f"/api/usecases/{draft.pk}/submit/")
    assert response.status_code == 200, response.data
    # THEN every role sees it, as any submitted use case
    for who in OUTSIDERS + INSIDERS:
        user = people[who]
        client.force_login(user)
        assert client.get(reverse("usecases:detail", args=[draft.pk])).status_code == 200, who
        assert _api(user).get(f"/api/usecases/{draft.pk}/").status_code == 200, who
        rows = client.get(reverse("usecases:portfolio")).context["rows"]
        assert draft.pk in [row.pk for row in rows], who
        assert TITLE in _body(client.get(reverse("usecases:portfolio"), {"export": "csv"}))
        listed = _api(user).get("/api/usecases/").data["results"]
        assert draft.pk in [row["id"] for row in listed], who
        # Submitting moved it on to scoring, beside the other team's.
        assert dict(portfolio_dashboard(user)["stages"])["Scoring"] == 2, who


def test_jobs_and_aggregates_without_a_viewer_count_submitted_use_cases_only(people, draft):
    counts = {c["value"]: c["count"] for c in usecase_stage_counts()}
    assert (counts["idea"], counts["scoring"]) == (0, 1)
    assert dict(portfolio_dashboard()["stages"])["Scoring"] == 1
    assert sum(lane["count"] for lane in governance_overview()["lanes"]) == 1
    assert all(change.use_case_id != draft.pk for change in weekly_review()["stage_changes"])
    usecase_submit(use_case=draft, actor=people["owner"])
    assert dict(portfolio_dashboard()["stages"])["Scoring"] == 2
    assert any(change.use_case_id == draft.pk for change in weekly_review()["stage_changes"])


def test_a_team_without_a_product_owner_lets_any_product_owner_see_its_drafts(people, draft):
    """As for moving its stages: while a team has no product owner, any product owner stands in."""
    Team.objects.filter(name="Finance").update(product_owner=None)
    draft.refresh_from_db()
    assert people["other_po"].has_perm("usecases.view_usecase", draft)
    assert _api(people["other_po"]).get(f"/api/usecases/{draft.pk}/").status_code == 200


def test_the_rule_and_the_queryset_filter_agree(people, draft, roleless_user):
    """usecases.view_usecase (per object) and usecase_visible_to (SQL) say the same for everyone."""
    Team.objects.get_or_create(name="HR")  # a team with no product owner
    unowned = make_use_case(people["submitter"], "recruiting_screening", submit=False)
    # A unit below Finance with no product owner of its own: Finance's answers for it.
    below = Team.objects.create(name="Collections", parent=Team.objects.get(name="Finance"))
    nested = make_use_case(people["submitter"], submit=False, team=below, title="Nested")
    submitted = UseCase.objects.exclude(pk__in=[draft.pk, unowned.pk, nested.pk])
    cases = [draft, unowned, nested, *submitted]
    for who, user in [*people.items(), ("roleless", roleless_user)]:
        # A fresh user object each time: no cached groups from an earlier check.
        user = type(user).objects.get(pk=user.pk)
        visible = set(usecase_visible_to(UseCase.objects.all(), user).values_list("pk", flat=True))
        for case in UseCase.objects.filter(pk__in=[c.pk for c in cases]).select_related("team"):
            assert user.has_perm("usecases.view_usecase", case) == (case.pk in visible), (
                who,
                case.title,
            )
    assert set(usecase_visible_to(UseCase.objects.all(), None)) == set(submitted)
