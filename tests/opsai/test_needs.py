"""The "Needs you" list (``opsai.needs``): each provider shows its user's things and no
one else's, the home page shows them first, and the page costs the same queries for a
few rows as for many."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import AIWorker, Incident, IncidentStep, Review, SignOff
from governance.services import lane_assign
from kpis.models import Alert, CheckIn, Snapshot
from kpis.services import week_start
from opsai.needs import needs_count, needs_count_cached, needs_for
from opsai.roles import role_group
from tests.factories import TeamFactory, UseCaseFactory
from tests.kpis.factories import KPIFactory
from usecases.models import ImportJob
from usecases.scoring import CRITERION_KEYS
from usecases.services import score_submit

pytestmark = pytest.mark.django_db


def groups_of(user: Any, *, decision: bool = False, limit: int = 5) -> dict[str, Any]:
    return {group.key: group for group in needs_for(user, limit=limit, decision=decision)}


def titles(group: Any) -> list[str]:
    return [item.title for item in group.items]


@pytest.fixture(autouse=True)
def _fresh_counts() -> None:
    """The badge's count lives in the shared cache: start each test without one."""
    cache.clear()


@pytest.fixture
def security(make_user):
    return make_user("Reviewer", username="sam", specialty="security")


@pytest.fixture
def legal(make_user):
    return make_user("Reviewer", username="lena", specialty="legal")


def open_review(use_case: Any, *roles_and_assignees: tuple[str, Any]) -> Review:
    review = Review.objects.create(use_case=use_case, opened_reason="Reviewed lane")
    for role, assignee in roles_and_assignees:
        SignOff.objects.create(review=review, role=role, assignee=assignee)
    return review


# --- Reviews to sign --------------------------------------------------------------------


def test_a_security_reviewer_sees_the_security_sign_off_not_legals(security, legal, ops_lead):
    """GIVEN an open review waiting on a security and a legal sign-off
    WHEN each reviewer's list is built
    THEN each sees the review once, under their own sign-off, linked to the review."""
    use_case = UseCaseFactory(title="Collections outreach", submitted_by=ops_lead, owner=ops_lead)
    review = open_review(use_case, ("security", security), ("legal", legal))

    group = groups_of(security)["reviews-to-sign"]
    assert group.count == 1
    assert group.items[0].url == review.get_absolute_url()
    assert group.items[0].action == "Sign off"
    assert "Security sign-off" in group.items[0].detail
    assert "Legal & compliance sign-off" in groups_of(legal)["reviews-to-sign"].items[0].detail


def test_a_decided_sign_off_or_closed_review_no_longer_waits(security, ops_lead):
    use_case = UseCaseFactory(submitted_by=ops_lead)
    review = open_review(use_case, ("security", security))
    review.sign_offs.update(decision="approved")
    assert "reviews-to-sign" not in groups_of(security)
    other = open_review(UseCaseFactory(submitted_by=ops_lead), ("security", security))
    other.status = "superseded"
    other.save()
    assert "reviews-to-sign" not in groups_of(security)


def test_a_submitter_does_not_see_a_sign_off_separation_of_duties_forbids(make_user):
    """GIVEN a security reviewer who also submitted the use case, and its security
    sign-off assigned to no one
    WHEN her list is built
    THEN the sign-off is not there: she may not give it (separation of duties)."""
    submitter = make_user("Reviewer", username="sara", specialty="security")
    submitter.groups.add(role_group("Ops lead"))
    use_case = UseCaseFactory(submitted_by=submitter, owner=submitter)
    open_review(use_case, ("security", None))
    other = make_user("Reviewer", username="sid", specialty="security")

    assert "reviews-to-sign" not in groups_of(submitter)
    assert groups_of(other)["reviews-to-sign"].count == 1


def test_an_unassigned_product_owner_sign_off_waits_on_that_units_product_owner(make_user):
    pia = make_user("Product owner", username="pia")
    pete = make_user("Product owner", username="pete")
    team = TeamFactory(name="Finance", product_owner=pia)
    open_review(UseCaseFactory(team=team), ("product_owner", None))

    assert groups_of(pia)["reviews-to-sign"].count == 1
    assert "reviews-to-sign" not in groups_of(pete)


# --- Incident steps ---------------------------------------------------------------------


def test_incident_steps_assigned_to_you_on_open_incidents_only(ops_lead, product_owner):
    use_case = UseCaseFactory()
    incident = Incident.objects.create(
        use_case=use_case, title="Wrong refunds", severity="high", what_happened="Refunds doubled."
    )
    IncidentStep.objects.create(incident=incident, kind="contain", position=2, owner=ops_lead)
    IncidentStep.objects.create(
        incident=incident, kind="stop", position=1, owner=ops_lead, done_at=timezone.now()
    )
    IncidentStep.objects.create(incident=incident, kind="correct", position=3, owner=product_owner)
    closed = Incident.objects.create(
        use_case=use_case, title="Old", severity="low", what_happened="x", status="closed"
    )
    IncidentStep.objects.create(incident=closed, kind="review", position=5, owner=ops_lead)

    group = groups_of(ops_lead)["incident-steps"]
    assert group.count == 1
    assert titles(group) == ["Wrong refunds"]
    assert group.items[0].url == incident.get_absolute_url()
    assert "Contain" in group.items[0].detail


# --- Scores to give ---------------------------------------------------------------------


def sheet(use_case: Any, scorer: Any) -> None:
    score_submit(
        use_case=use_case,
        scorer=scorer,
        values=dict.fromkeys(CRITERION_KEYS, 3),
        rationales=dict.fromkeys(CRITERION_KEYS, "Because."),
    )


def test_scores_to_give_are_scoring_stage_use_cases_of_your_units_not_yet_scored(make_user):
    """GIVEN an ops lead working in Support, scoring-stage use cases in Support (one she
    scored) and in Finance, and an idea in Support
    WHEN her list is built
    THEN she is asked to score only the unscored one in Support, on its page."""
    olivia = make_user("Ops lead", username="olivia")
    support, finance = TeamFactory(name="Support"), TeamFactory(name="Finance")
    UseCaseFactory(team=support, owner=olivia, title="Her idea")
    waiting = UseCaseFactory(team=support, stage="scoring", title="Triage")
    scored = UseCaseFactory(team=support, stage="scoring", title="Refunds")
    sheet(scored, olivia)
    UseCaseFactory(team=finance, stage="scoring", title="Invoices")

    group = groups_of(olivia)["scores-to-give"]
    assert titles(group) == ["Triage"]
    assert group.items[0].url == f"{waiting.get_absolute_url()}#scores"


def test_a_scorer_with_no_unit_yet_is_asked_everywhere_and_executives_never(make_user, executive):
    newcomer = make_user("Ops lead", username="nina")
    UseCaseFactory(team=TeamFactory(name="Finance"), stage="scoring", title="Invoices")
    assert titles(groups_of(newcomer)["scores-to-give"]) == ["Invoices"]
    assert "scores-to-give" not in groups_of(executive)


# --- Imports that failed ----------------------------------------------------------------


def test_imports_that_failed_are_your_own_recent_ones(ops_lead, admin_user):
    mine = ImportJob.objects.create(
        created_by=ops_lead, filename="q3.csv", state="failed", error_count=2
    )
    ImportJob.objects.create(created_by=ops_lead, filename="ok.csv", state="done")
    ImportJob.objects.create(created_by=admin_user, filename="theirs.csv", state="failed")
    ImportJob.objects.create(
        created_by=ops_lead,
        filename="old.csv",
        state="failed",
        created_at=timezone.now() - timedelta(days=31),
    )
    onboarding = ImportJob.objects.create(
        created_by=ops_lead, filename="jira.csv", state="failed", source="jira"
    )

    group = groups_of(ops_lead)["imports-failed"]
    assert group.count == 2
    urls = {item.title: item.url for item in group.items}
    assert urls == {
        "q3.csv": reverse("usecases:import_job", args=[mine.pk]),
        "jira.csv": reverse("usecases:onboarding_job", args=[onboarding.pk]),
    }


# --- Your use cases blocked on a condition ----------------------------------------------


def test_your_use_case_owing_an_obligation_shows_the_condition_and_its_link(ops_lead, make_user):
    """GIVEN the ops lead's use case in pilot with no business KPI, and someone else's
    WHEN her list is built
    THEN hers is listed with "no business KPI" and the link that defines it."""
    mine = UseCaseFactory(owner=ops_lead, stage="pilot", title="Triage")
    UseCaseFactory(owner=make_user("Ops lead", username="other"), stage="pilot")
    KPIFactory(use_case=UseCaseFactory(owner=ops_lead, stage="idea"))  # an idea owes nothing

    group = groups_of(ops_lead)["blocked-use-cases"]
    assert group.count == 1
    item = group.items[0]
    assert item.title == "Triage"
    assert "no business KPI" in item.detail
    assert item.url == reverse("kpis:usecase", args=[mine.pk])
    assert item.action == "Define its business KPI"


# --- Check-ins and alerts ---------------------------------------------------------------


def test_check_ins_due_this_week_on_your_live_kpis(ops_lead, product_owner):
    live = UseCaseFactory(stage="pilot")
    due = KPIFactory(use_case=live, owner=ops_lead, name="Handle time")
    done = KPIFactory(use_case=live, owner=ops_lead, name="Backlog")
    CheckIn.objects.create(
        kpi=done,
        week=week_start(timezone.localdate()),
        confidence="on_track",
        analysis="Fine.",
        author=ops_lead,
    )
    KPIFactory(use_case=UseCaseFactory(stage="scoring"), owner=ops_lead)  # not live yet
    KPIFactory(use_case=live, owner=product_owner)  # someone else's

    group = groups_of(ops_lead)["check-ins-due"]
    assert group.count == 1
    assert group.items[0].url == f"{due.get_absolute_url()}#check-in"
    assert group.items[0].action == "Check in"


def test_alerts_firing_on_kpis_you_own(ops_lead, product_owner):
    mine = KPIFactory(owner=ops_lead, name="Refund rate")
    today = timezone.localdate()
    Alert.objects.create(kpi=mine, reason="guardrail", state="firing", last_as_of=today)
    Alert.objects.create(
        kpi=mine, reason="off_track", state="resolved", last_as_of=today, resolved_at=timezone.now()
    )
    Alert.objects.create(
        kpi=KPIFactory(owner=product_owner), reason="off_track", state="firing", last_as_of=today
    )

    group = groups_of(ops_lead)["kpi-alerts"]
    assert group.count == 1
    assert group.items[0].url == mine.get_absolute_url()
    assert "Guardrail crossed" in group.items[0].detail


# --- Needs a decision -------------------------------------------------------------------


def decision_data() -> dict[str, Any]:
    long_ago = timezone.now() - timedelta(days=90)
    stalled = UseCaseFactory(stage="pilot", stage_entered_at=long_ago, title="Stalled pilot")
    UseCaseFactory(stage="pilot", title="Fresh pilot")
    kpi = KPIFactory(use_case=stalled, name="Cost per case")
    snapshot = Snapshot.objects.create(
        kpi=kpi, as_of=timezone.localdate(), status="off_track", rolled_up_status="off_track"
    )
    kpi.current_snapshot = snapshot
    kpi.save()
    worker = AIWorker.objects.create(
        use_case=stalled,
        name="Refund bot",
        tasks_handled="Refunds",
        human_role="Checks",
        model_name="m",
        model_version="1",
        autonomy="suggest",
        status="paused",
        paused_at=timezone.now(),
        pause_reason="Guardrail crossed",
    )
    return {"stalled": stalled, "kpi": kpi, "worker": worker}


def test_executives_get_the_decisions_and_others_do_not(executive, ops_lead):
    """GIVEN a pilot 90 days in the stage, an off-track business KPI and a paused worker
    WHEN the executive's and the ops lead's decision lists are built
    THEN the executive sees all three and the ops lead none."""
    data = decision_data()
    groups = groups_of(executive, decision=True)
    assert titles(groups["stalled-pilots"]) == ["Stalled pilot"]
    assert groups["off-track-kpis"].items[0].url == data["kpi"].get_absolute_url()
    assert groups["paused-workers"].items[0].url == data["worker"].get_absolute_url()
    assert groups_of(ops_lead, decision=True) == {}
    assert "stalled-pilots" not in groups_of(executive)  # decisions are not "needs you"


def test_the_portfolio_dashboard_opens_with_the_decision_strip(client, executive):
    decision_data()
    client.force_login(executive)
    response = client.get(reverse("home"), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("kpis:portfolio")
    assert 'data-testid="needs-decision"' in html
    assert html.index('data-testid="needs-decision"') < html.index("Value realised")
    assert 'data-testid="need-stalled-pilots"' in html


# --- The home page ----------------------------------------------------------------------


def test_home_lists_what_needs_you_first_with_links(client, security, ops_lead):
    use_case = UseCaseFactory(title="Collections outreach", submitted_by=ops_lead)
    review = open_review(use_case, ("security", security))
    client.force_login(security)
    html = client.get(reverse("home")).content.decode()
    assert html.index('data-testid="needs-you"') < html.index("Your use cases by stage")
    assert 'data-testid="need-reviews-to-sign"' in html
    assert f'href="{review.get_absolute_url()}"' in html
    assert "Nothing needs you right now." not in html


def test_home_says_when_nothing_needs_you(client, ops_lead):
    client.force_login(ops_lead)
    html = client.get(reverse("home")).content.decode()
    assert "Nothing needs you right now." in html


def test_see_all_links_when_more_wait_than_are_shown(security, ops_lead):
    for n in range(7):
        open_review(UseCaseFactory(title=f"UC {n}", submitted_by=ops_lead), ("security", security))
    group = groups_of(security)["reviews-to-sign"]
    assert group.count == 7
    assert len(group.items) == 5
    assert group.url == reverse("governance:queue")


def test_home_stage_counts_are_your_own_use_cases(client, ops_lead, make_user):
    UseCaseFactory(owner=ops_lead, stage="pilot")
    UseCaseFactory(owner=make_user("Ops lead", username="other"), stage="pilot")
    client.force_login(ops_lead)
    counts = {row["value"]: row["count"] for row in client.get("/").context["stage_counts"]}
    assert counts["pilot"] == 1


# --- The navigation badge ---------------------------------------------------------------


def test_the_badge_counts_everything_waiting_and_the_home_page_refreshes_it(
    client, security, ops_lead
):
    """GIVEN two reviews waiting on a reviewer and no count remembered
    WHEN a page is opened, then the badge fetched, then home visited after a third
    THEN the page itself counts nothing (the badge is fetched), the badge says 2, and
    home's own count (3) replaces the remembered one."""
    for n in range(2):
        open_review(UseCaseFactory(title=f"UC {n}", submitted_by=ops_lead), ("security", security))
    client.force_login(security)
    page = client.get(reverse("governance:index")).content.decode()
    assert f'hx-get="{reverse("needs_badge")}"' in page
    badge = client.get(reverse("needs_badge")).content.decode()
    assert "Needs you <strong>2</strong>" in badge
    assert needs_count_cached(security) == 2

    open_review(UseCaseFactory(title="UC 3", submitted_by=ops_lead), ("security", security))
    assert needs_count(security) == 2  # remembered, up to a minute
    client.get(reverse("home"))
    assert needs_count_cached(security) == 3
    assert (
        "Needs you <strong>3</strong>" in client.get(reverse("governance:index")).content.decode()
    )


# --- Bounded ----------------------------------------------------------------------------


def everything_waiting_on(user: Any, n: int) -> None:
    """``n`` rows of every kind waiting on ``user`` (reviewer, scorer, KPI owner, decider)."""
    team = TeamFactory(name="Support")
    long_ago = timezone.now() - timedelta(days=90)
    today = timezone.localdate()
    for i in range(n):
        UseCaseFactory(team=team, stage="scoring", title=f"Scoring {i}")
        pilot = UseCaseFactory(
            team=team, owner=user, stage="pilot", stage_entered_at=long_ago, title=f"Pilot {i}"
        )
        open_review(UseCaseFactory(team=team, title=f"Review {i}"), ("security", user))
        with transaction.atomic():
            lane_assign(use_case=pilot, actor=None)  # as every use case has its lane
        kpi = KPIFactory(use_case=pilot, owner=user, level="operational")
        Alert.objects.create(kpi=kpi, reason="off_track", state="firing", last_as_of=today)
        incident = Incident.objects.create(
            use_case=pilot, title=f"Incident {i}", severity="low", what_happened="x"
        )
        IncidentStep.objects.create(incident=incident, kind="stop", position=1, owner=user)
        ImportJob.objects.create(created_by=user, filename=f"{i}.csv", state="failed")
        AIWorker.objects.create(
            use_case=pilot,
            name=f"Bot {i}",
            tasks_handled="x",
            human_role="x",
            model_name="m",
            model_version="1",
            autonomy="suggest",
            status="paused",
            paused_at=timezone.now(),
        )


def home_queries(client: Any, user: Any) -> tuple[int, str]:
    cache.clear()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("many", [80])
def test_home_costs_the_same_queries_for_few_rows_and_many(client, make_user, many):
    """GIVEN a person waited on by every kind of thing, 30 of each, then ``many`` of each
    WHEN home is opened
    THEN it costs the same number of queries both times (one COUNT and one LIMITed
    query per group, a few rows' conditions), and shows at most 5 of each."""
    user = make_user("Ops lead", username="busy", specialty="security")
    for role in ("Reviewer", "Executive"):
        user.groups.add(role_group(role))
    everything_waiting_on(user, 30)
    few, _ = home_queries(client, user)
    everything_waiting_on(user, many - 30)
    lots, html = home_queries(client, user)
    assert lots == few
    # Bounded lists: the first five of each only.
    assert html.count('aria-label="Define its business KPI:') == 5
    assert html.count('aria-label="Sign off:') == 5
    for key in (
        "scores-to-give",
        "imports-failed",
        "blocked-use-cases",
        "check-ins-due",
        "kpi-alerts",
        "reviews-to-sign",
        "incident-steps",
        "stalled-pilots",
        "paused-workers",
    ):
        assert f'data-testid="need-{key}"' in html
    assert f"See all {many}" in html


def test_home_query_count_is_pinned(client, make_user, django_assert_max_num_queries):
    user = make_user("Ops lead", username="busy", specialty="security")
    for role in ("Reviewer", "Executive"):
        user.groups.add(role_group(role))
    everything_waiting_on(user, 30)
    client.force_login(user)
    # Session, user, groups, profile (specialty); a COUNT and a LIMIT per group with
    # rows (8 × 2, the off-track KPIs' COUNT alone); the lane of each of the 5 blocked
    # rows shown (``lifecycle.unmet_conditions``); the stage counts.
    with django_assert_max_num_queries(29):
        assert client.get(reverse("home")).status_code == 200


def test_a_product_owners_stage_counts_are_their_units(client, make_user):
    pia = make_user("Product owner", username="pia")
    mine, theirs = TeamFactory(name="Finance", product_owner=pia), TeamFactory(name="HR")
    TeamFactory(name="Sales", product_owner=make_user("Product owner", username="pete"))
    UseCaseFactory(team=mine, stage="review")
    UseCaseFactory(team=TeamFactory(name="Sales"), stage="review")
    client.force_login(pia)
    counts = {row["value"]: row["count"] for row in client.get("/").context["stage_counts"]}
    # Finance is hers; HR names no product owner, so any product owner stands in for it.
    UseCaseFactory(team=theirs, stage="review")
    assert counts["review"] == 1
    counts = {row["value"]: row["count"] for row in client.get("/").context["stage_counts"]}
    assert counts["review"] == 2


def test_an_admins_home_shows_the_decisions_too(client, admin_user):
    decision_data()
    client.force_login(admin_user)
    html = client.get(reverse("home")).content.decode()
    assert 'data-testid="needs-decision"' in html
    assert 'data-testid="need-paused-workers"' in html
