"""Open obligations: gates a use case is past without having passed them (registered as found).

Use cases are created at production with ``registered_at`` set directly, as the import
will; the KPI app's obligation (no business KPI) and governance's (no approved review)
show on the use-case page, the governance page and the portfolio — counted in a fixed
number of queries — and disappear when met.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import Review
from governance.services import lane_assign
from tests.factories import TeamFactory, UseCaseFactory
from tests.governance.factories import use_case_like
from tests.kpis.factories import KPIFactory
from usecases import lifecycle
from usecases.models import UseCase
from usecases.selectors import usecase_obligation_counts, usecase_open_obligations

pytestmark = pytest.mark.django_db


def found(title: str, *, stage: str = "production", **fields) -> UseCase:
    """A use case registered as found at ``stage``, placed in its lane (Reviewed here)."""
    use_case = UseCaseFactory(
        title=title,
        stage=stage,
        registered_at=timezone.now(),
        registered_from="inventory.xlsx",
        audience="customer_facing",
        **fields,
    )
    with transaction.atomic():
        lane_assign(use_case=use_case, actor=None)
    return use_case


def test_both_apps_register_their_obligation():
    keys = {o.key: o for o in lifecycle.obligations()}
    assert set(keys) == {"kpis.business_kpi", "governance.review"}
    assert "idea" not in keys["kpis.business_kpi"].stages
    assert set(keys["governance.review"].stages) == {"approved", "pilot", "production"}


def test_the_use_case_page_lists_each_open_obligation_with_the_link_that_resolves_it(
    client, ops_lead
):
    use_case = found("Found in production")
    client.force_login(ops_lead)
    response = client.get(use_case.get_absolute_url())
    body = response.content.decode()
    assert 'data-testid="open-obligations"' in body and "registered as found" in body
    links = {o.key: o.url for o in response.context["obligations"]}
    assert links == {
        "kpis.business_kpi": reverse("kpis:usecase", args=[use_case.pk]),
        "governance.review": reverse("governance:usecase", args=[use_case.pk]),
    }
    assert "No business KPI — <a href" in body and "Define its business KPI" in body


def test_an_obligation_is_gone_once_met(ops_lead):
    use_case = found("Meets them")
    KPIFactory(use_case=use_case, level="business")
    Review.objects.create(use_case=use_case, status="approved", opened_reason="Imported")
    assert usecase_open_obligations(use_case) == []


def test_the_allowed_lane_owes_no_review_and_an_idea_owes_nothing(ops_lead):
    allowed = use_case_like("collections_outreach", stage="production")
    assert [o.key for o in usecase_open_obligations(allowed)] == ["kpis.business_kpi"]
    idea = found("Just an idea", stage="idea")
    assert usecase_open_obligations(idea) == []


def test_a_review_can_be_opened_where_it_stands_from_the_governance_page(client, owner_po):
    use_case = found("Needs review")
    client.force_login(owner_po)
    page = client.get(reverse("governance:usecase", args=[use_case.pk]))
    assert page.context["can_open_review"] and "Open a review" in page.content.decode()
    client.post(reverse("governance:usecase", args=[use_case.pk]), {"action": "open_review"})
    use_case.refresh_from_db()
    assert use_case.stage == "production"  # not moved back: reviewed where it stands
    assert Review.objects.get(use_case=use_case).status == "open"
    page = client.get(reverse("governance:usecase", args=[use_case.pk]))
    assert not page.context["can_open_review"]


def test_the_portfolio_and_governance_page_summarise_the_counts(client, ops_lead, executive):
    for i in range(3):
        found(f"Prod {i}")
    pilot = found("Pilot one", stage="pilot")
    KPIFactory(use_case=pilot, level="business")
    client.force_login(ops_lead)
    body = client.get(reverse("usecases:portfolio")).content.decode()
    assert "3 production use cases have no business KPI" in body
    assert "4 use cases have no approved review: 1 in pilot, 3 in production" in body
    client.force_login(executive)
    governance = client.get(reverse("governance:index")).content.decode()
    assert "3 production use cases have no business KPI" in governance
    assert "Pilot one" in governance and "Open a review" in governance


def test_the_counts_follow_the_filters_and_hide_others_drafts(client, ops_lead):
    support = TeamFactory(name="Support")
    finance = TeamFactory(name="Finance")
    found("Support prod", team=support)
    found("Finance prod", team=finance)
    found("Someone's draft", team=finance, submitted_at=None)
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:portfolio") + f"?team={finance.pk}")
    counts = {o.key: o.count for o in response.context["obligations"]}
    assert counts == {"kpis.business_kpi": 1, "governance.review": 1}


@pytest.mark.parametrize("n", [1, 20])
def test_the_counts_cost_one_query_whatever_the_size(n):
    for i in range(n):
        found(f"Prod {i}")
    with CaptureQueriesContext(transaction.get_connection()) as queries:
        counts = usecase_obligation_counts(UseCase.objects.all())
    # every obligation counted in one GROUP BY (a FILTERed count each)
    assert len(queries.captured_queries) == 1
    assert len(counts) == len(lifecycle.obligations())
    assert [c.count for c in counts] == [n, n]
