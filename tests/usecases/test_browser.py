"""An ops lead, as a new user would, takes a use case from template to ranked portfolio row."""

import re

import pytest
from playwright.sync_api import expect

from tests.usecases.factories import make_use_case, rate
from usecases.demo import demo_units
from usecases.models import UseCase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CRITERIA = {
    "Value": ("5", "Cash collected moves within 30–60 days"),
    "Feasibility": ("4", "Drafting reminders is weeks of work, not quarters"),
    "Data readiness": ("4", "Aged-debt report and CRM notes are clean enough"),
    "Integration complexity": (None, "Only the ERP is touched"),  # keep the suggestion
    "Change pain": ("4", "Collectors keep their routine; they review drafts"),
}


def test_an_ops_lead_creates_scores_and_sees_collections_outreach_ranked(
    page, live_server, sign_in, make_user
):
    """GIVEN the organisation's teams and one scored use case already in the portfolio,
    WHEN a new ops lead creates collections outreach from its template, submits and scores it,
    THEN the portfolio ranks it first with its radar-hit and quick-win flags and their reasons."""
    owner = make_user("Product owner", username="priya")
    demo_units(actor=None, product_owner=owner)
    colleague = make_user("Ops lead", username="colleague")
    other = make_use_case(colleague, "recruiting_screening")
    rate(other, colleague, 3, 3, 2, 3, 2)
    make_user("Ops lead", username="olivia")

    sign_in(page, "olivia")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Intake").click()
    page.get_by_role("link", name="Start from Collections outreach").click()

    # The template pre-fills every section.
    expect(page.get_by_label("Title")).to_have_value("Collections outreach")
    expect(page.get_by_label("Business outcome")).to_have_value("Improve collections recovery rate")
    expect(page.get_by_label("Team", exact=True)).to_have_value(
        str(owner.owned_teams.get(name="Finance").pk)
    )
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Improve collections recovery rate")
    # Submitting moved it on to scoring, and says what the rework radar found.
    expect(
        page.get_by_text("Submitted: now in Scoring. Rework radar: Rules, repetition")
    ).to_be_visible()
    expect(page.get_by_test_id("stage")).to_have_text("Scoring")
    expect(page.get_by_test_id("value-estimate")).to_contain_text("estimate")
    expect(page.get_by_test_id("value-estimate")).to_contain_text("4,680")  # hours a year

    # Score it: integration complexity is pre-suggested from the one system touched.
    expect(page.get_by_label("Integration complexity", exact=True)).to_have_value("5")
    for label, (value, why) in CRITERIA.items():
        if value:
            page.get_by_label(label, exact=True).select_option(value)
        page.get_by_label(f"Why {label.lower()}?").fill(why)
    page.get_by_role("button", name="Submit score").click()

    expect(page.get_by_text("Your score is in.")).to_be_visible()
    expect(page.get_by_test_id("consensus")).to_have_text(re.compile(r"Consensus 4\.45"))
    flags = page.get_by_test_id("flags")
    expect(flags.locator("[data-flag=radar_hit]")).to_have_attribute("data-on", "yes")
    expect(flags.locator("[data-flag=quick_win]")).to_have_attribute("data-on", "yes")
    expect(flags.locator("[data-flag=political_thriller]")).to_have_attribute("data-on", "no")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Portfolio").click()
    rows = page.get_by_test_id("portfolio-row")
    expect(rows).to_have_count(2)
    first = rows.first
    expect(first).to_have_attribute("data-title", "Collections outreach")
    expect(first.get_by_test_id("score")).to_contain_text("4.45")
    expect(first.locator("[data-flag=radar_hit]")).to_have_text("Radar hit")
    expect(first.locator("[data-flag=quick_win]")).to_have_text("Quick win")
    expect(first.locator("[data-flag=quick_win]")).to_have_attribute(
        "title", re.compile("one KPI, one team")
    )
    expect(first.locator("[data-flag=political_thriller]")).to_have_count(0)
    expect(rows.nth(1)).to_have_attribute("data-title", "Recruiting screening")

    # The bubble chart is drawn, and filtering to quick wins leaves just this one.
    expect(page.locator("#portfolio-chart[data-ready='1']")).to_be_visible()
    page.get_by_label("Quick win").select_option("true")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)

    use_case = UseCase.objects.get(title="Collections outreach", owner__username="olivia")
    assert use_case.template_key == "collections_outreach"
    assert use_case.kpis.exists()  # the KPI app built the template's stack on usecase_created


def test_a_click_on_a_bubble_opens_the_use_case(page, live_server, sign_in, make_user):
    lead = make_user("Ops lead", username="lead")
    use_case = make_use_case(lead)
    rate(use_case, lead, 4, 4, 4, 4, 4)
    make_user("Executive", username="evan")
    sign_in(page, "evan")
    page.goto(f"{live_server.url}/usecases/")
    expect(page.locator("#portfolio-chart[data-ready='1']")).to_be_visible()
    bubble = page.locator("#portfolio-chart .scatterlayer .points path").first
    bubble.scroll_into_view_if_needed()  # mouse clicks land only inside the viewport
    box = bubble.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"**/usecases/{use_case.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Improve collections recovery rate")


def test_filters_and_sort_update_the_portfolio_in_place(page, live_server, sign_in, make_user):
    """GIVEN two scored use cases, WHEN an executive picks a filter and clicks a column,
    THEN the table, chart and export links update without a page load, and the address
    bar keeps the selection so a reload shows the same."""
    lead = make_user("Ops lead", username="lead")
    thriller = make_use_case(lead, title="Thriller", approvals_needed=6)
    calm = make_use_case(lead, title="Calm", approvals_needed=1)
    rate(thriller, lead, 4, 4, 4, 4, 4)
    rate(calm, lead, 3, 3, 3, 3, 3)
    make_user("Executive", username="evan")
    sign_in(page, "evan")
    page.goto(f"{live_server.url}/usecases/")
    expect(page.locator("#portfolio-chart[data-ready='1']")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    rows = page.get_by_test_id("portfolio-row")
    expect(rows).to_have_count(2)

    page.get_by_label("Political thriller").select_option("true")  # no Filter click
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-title", "Thriller")
    expect(page.get_by_test_id("export-csv")).to_have_attribute(
        "href", re.compile("political_thriller=true")
    )
    expect(page.locator("#portfolio-chart[data-ready='1']")).to_be_visible()
    page.get_by_label("Political thriller").select_option("")
    expect(rows).to_have_count(2)
    page.get_by_role("link", name=re.compile("^Use case")).click()  # Z → A first
    expect(page.get_by_label("Sort by")).to_have_value("-title")
    page.get_by_role("link", name=re.compile("^Use case")).click()  # then A → Z
    expect(rows.first).to_have_attribute("data-title", "Calm")
    expect(page.get_by_label("Sort by")).to_have_value("title")
    assert page.evaluate("window.notReloaded") is True  # swapped in place, no page load
    assert "sort=title" in page.url
    page.reload()
    expect(rows.first).to_have_attribute("data-title", "Calm")


def test_the_portfolio_pages_in_place_and_keeps_the_sort(page, live_server, sign_in, make_user):
    """GIVEN 55 use cases, WHEN an executive sorts by title and clicks Next, THEN the
    last five rows replace the table without a page load, still sorted, and the
    address bar holds the page so a reload shows the same."""
    lead = make_user("Ops lead", username="lead")
    for i in range(55):
        make_use_case(lead, title=f"Case {i:02d}")
    make_user("Executive", username="evan")
    sign_in(page, "evan")
    page.goto(f"{live_server.url}/usecases/?sort=title")
    page.evaluate("window.notReloaded = true")
    rows = page.get_by_test_id("portfolio-row")
    expect(rows).to_have_count(50)
    expect(page.get_by_test_id("page-range").first).to_have_text("Showing 1–50 of 55")
    page.get_by_role("link", name="Next ›").first.click()
    expect(rows).to_have_count(5)
    expect(rows.first).to_have_attribute("data-title", "Case 50")
    expect(page.get_by_test_id("page-range").first).to_have_text("Showing 51–55 of 55")
    assert page.evaluate("window.notReloaded") is True  # swapped in place
    assert "sort=title" in page.url and "page=2" in page.url
    page.reload()
    expect(rows.first).to_have_attribute("data-title", "Case 50")


def test_a_refused_move_is_said_at_the_top_and_moving_to_review_opens_the_review(
    page, live_server, sign_in, make_user
):
    """GIVEN a submitted, customer-facing use case with no score yet
    WHEN its team's product owner clicks "Move to Review"
    THEN the use case page (not a /stage/ address) says at its top, in view, that it needs
    a score sheet, linking to the scoring form; once scored, the same button moves it and
    the message links to the review it opened."""
    owner = make_user("Product owner", username="priya")
    demo_units(actor=None, product_owner=owner)
    lead = make_user("Ops lead", username="lead")
    use_case = make_use_case(lead, "support_triage")
    sign_in(page, "priya")
    page.goto(f"{live_server.url}{use_case.get_absolute_url()}")
    move = page.get_by_role(
        "button", name=re.compile(r"^Move to Review — opens the five-point review")
    )
    move.click()
    page.wait_for_url(f"**/usecases/{use_case.pk}/")
    refused = page.get_by_test_id("refused-conditions")
    expect(refused).to_be_in_viewport()
    expect(refused).to_contain_text("Needs 1 complete score sheet")
    expect(refused.get_by_role("link", name="Open the scoring form")).to_have_attribute(
        "href", f"/usecases/{use_case.pk}/#score"
    )
    rate(use_case, lead, 4, 4, 4, 4, 4)
    page.reload()
    expect(page.get_by_test_id("refused-conditions")).to_have_count(0)  # said once
    page.get_by_role("button", name=re.compile(r"^Move to Review")).click()
    expect(page.get_by_test_id("stage")).to_have_text("Review")
    page.get_by_role("link", name="Open the review").click()
    expect(page).to_have_url(re.compile(r"/governance/reviews/\d+/$"))
