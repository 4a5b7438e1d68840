"""An admin adds a custom field; an ops lead classifies a use case and fills the field at
intake, sees both on its page and its lane, and finds it with the portfolio's filters."""

import pytest
from playwright.sync_api import expect

from tests.factories import TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_a_field_and_an_ops_lead_classifies_fills_and_filters(
    page, live_server, sign_in, make_user
):
    """GIVEN a team and an admin
    WHEN the admin adds a "Service tier" choice field and an ops lead creates a high-risk
    use case with tier Gold
    THEN its page shows the class, the tier and a Reviewed lane, and the portfolio's
    risk-class and custom-field filters find it."""
    TeamFactory(name="Support")
    make_user("Admin", username="ada")
    make_user("Ops lead", username="olivia")

    sign_in(page, "ada")
    page.goto(f"{live_server.url}/usecases/fields/")
    page.get_by_label("Key").fill("tier")
    page.get_by_label("Label").fill("Service tier")
    page.get_by_label("Kind").select_option("choice")
    page.get_by_label("Choices").fill("Gold\nSilver")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_test_id("custom-fields")).to_contain_text("Service tier")

    page.context.clear_cookies()
    sign_in(page, "olivia")
    page.goto(f"{live_server.url}/usecases/new/?blank=1")
    page.get_by_label("Title").fill("Applicant screening")
    page.get_by_label("Team", exact=True).select_option(label="Support")
    page.get_by_label("Risk class (EU AI Act)").select_option("high")
    page.get_by_label("High-impact", exact=True).select_option("true")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("a justification is required")
    page.get_by_label("Why it is (or is not) high-impact").fill("Ranks job applicants.")
    page.get_by_label("Service tier").select_option("Gold")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_test_id("risk-class")).to_have_text("High risk")
    expect(page.get_by_test_id("custom-values")).to_contain_text("Gold")
    page.get_by_role("link", name="Governance: lane, review, AI workers").click()
    expect(page.get_by_test_id("lane-reason")).to_contain_text("High risk")

    page.goto(f"{live_server.url}/usecases/")
    page.get_by_label("Risk class", exact=True).select_option("high")
    page.get_by_label("Custom field").select_option("tier")
    page.get_by_label("Custom value (is / contains)").fill("gold")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("portfolio-table")).to_contain_text("Applicant screening")
    page.get_by_label("Custom value (is / contains)").fill("silver")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("portfolio-table")).not_to_contain_text("Applicant screening")
