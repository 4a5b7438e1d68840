"""In the real Chromium, on the demo data: each role signs in, starts from what its home
says is waiting ("Needs you", or for an executive the "Needs a decision" strip of the
portfolio dashboard), clicks through to it and completes it — never typing a URL.

The demo gives every role something waiting: the ops lead check-ins due on Collections
outreach's KPIs, the product owner and the reviewers their sign-offs of the Support
triage review, executives and admins the off-track Marketing content KPI.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from governance.models import SignOff
from kpis.models import CheckIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "opsai-demo"


@pytest.fixture
def demo(db: None) -> None:
    from opsai.demo import demo_load

    demo_load()


@pytest.fixture
def sign_in_demo(sign_in: Any) -> Any:
    return lambda page, username: sign_in(page, username, DEMO_PASSWORD)


def answer_the_open_checklist(page: Any) -> None:
    """The demo review has auditability unanswered: approving needs it answered."""
    item = page.get_by_test_id("checklist-auditability")
    item.get_by_label("Answer").fill("Prompt, output and approval stored against the ticket id.")
    page.get_by_role("button", name="Save checklist").click()
    expect(page.get_by_test_id("checklist-saved")).to_contain_text("Saved")
    expect(item.get_by_test_id("item-state")).to_have_text("Answered")


def sign_off_from_home(page: Any, role: str, role_label: str) -> None:
    needs = page.get_by_test_id("needs-you").get_by_test_id("need-reviews-to-sign")
    expect(needs).to_contain_text(f"{role_label} sign-off")
    needs.get_by_role("link", name="Sign off: Support triage").click()
    expect(page.locator("h1")).to_contain_text("Support triage")
    answer_the_open_checklist(page)
    row = page.get_by_test_id(f"signoff-{role}")
    row.get_by_label("Approved").check()
    row.get_by_label("Comment").fill("Checked against our standards.")
    row.get_by_role("button", name=f"Give {role_label} sign-off").click()
    page.wait_for_load_state()
    expect(page.get_by_test_id(f"signoff-{role}")).to_contain_text("Approved")


def test_a_product_owner_signs_the_review_waiting_on_them(page, demo, sign_in_demo):
    sign_in_demo(page, "owner")
    sign_off_from_home(page, "product_owner", "Ops product owner")
    assert SignOff.objects.get(role="product_owner", review__status="open").decision == "approved"
    page.get_by_role("link", name="opsai").click()
    expect(page.get_by_test_id("needs-you")).to_contain_text("Nothing needs you right now.")


def test_a_reviewer_signs_the_review_waiting_on_them(page, demo, sign_in_demo):
    sign_in_demo(page, "security")
    sign_off_from_home(page, "security", "Security")
    assert SignOff.objects.get(role="security").decision == "approved"
    page.get_by_test_id("needs-badge").click()
    expect(page.get_by_test_id("needs-you")).to_contain_text("Nothing needs you right now.")


def test_an_ops_lead_records_a_check_in_that_is_due(page, demo, sign_in_demo):
    before = CheckIn.objects.filter(author__username="ops").count()
    sign_in_demo(page, "ops")
    group = page.get_by_test_id("needs-you").get_by_test_id("need-check-ins-due")
    count = int(group.locator(".badge").inner_text())
    group.get_by_role("link", name=re.compile(r"^Check in: ")).first.click()
    page.get_by_label("Confidence").select_option("at_risk")
    page.get_by_label("Analysis").fill("Contact rate is up, DSO has not moved yet.")
    page.get_by_role("button", name="Record check-in").click()
    page.wait_for_load_state()
    assert CheckIn.objects.filter(author__username="ops").count() == before + 1
    page.get_by_role("link", name="opsai").click()
    expect(page.get_by_test_id("need-check-ins-due").locator(".badge")).to_have_text(str(count - 1))


def test_a_new_ops_lead_gives_the_scores_waiting_on_them(page, demo, sign_in, make_user):
    """GIVEN the demo's use cases in Scoring and an ops lead who just joined (no sheet yet,
    no unit of their own: every use case in Scoring invites them)
    WHEN they sign in, follow "Scores to give" to the first one and score it
    THEN the sheet is in and their home asks for one score fewer."""
    from usecases.models import Score

    make_user("Ops lead", username="oscar")
    sign_in(page, "oscar")
    group = page.get_by_test_id("needs-you").get_by_test_id("need-scores-to-give")
    count = int(group.locator(".badge").inner_text())
    assert count >= 1
    group.get_by_role("link", name=re.compile(r"^Score it: ")).first.click()
    expect(page.get_by_test_id("stage")).to_have_text("Scoring")
    for label in (
        "Value",
        "Feasibility",
        "Data readiness",
        "Integration complexity",
        "Change pain",
    ):
        page.get_by_label(label, exact=True).select_option("4")
        page.get_by_label(f"Why {label.lower()}?").fill("Seen in the weekly numbers.")
    page.get_by_role("button", name="Submit score").click()
    expect(page.get_by_text("Your score is in.")).to_be_visible()
    assert Score.objects.filter(scorer__username="oscar").count() == 1
    page.get_by_role("link", name="opsai").click()
    if count == 1:
        expect(page.get_by_test_id("need-scores-to-give")).to_have_count(0)
    else:
        badge = page.get_by_test_id("need-scores-to-give").locator(".badge")
        expect(badge).to_have_text(str(count - 1))


def test_an_executive_follows_the_decision_strip_to_the_off_track_kpi(page, demo, sign_in_demo):
    sign_in_demo(page, "exec")
    strip = page.get_by_test_id("needs-decision")
    expect(strip).to_be_visible()
    group = strip.get_by_test_id("need-off-track-kpis")
    group.get_by_role("link", name=re.compile(r"^See why: Content cost per asset")).click()
    expect(page.locator("h1")).to_contain_text("Content cost per asset")
    expect(page.get_by_text("Off track").first).to_be_visible()


def test_an_admin_checks_in_on_the_off_track_kpi_from_home(page, demo, sign_in_demo):
    sign_in_demo(page, "admin")
    strip = page.get_by_test_id("needs-decision")
    strip.get_by_role("link", name=re.compile(r"^See why: Content cost per asset")).click()
    page.get_by_label("Confidence").select_option("off_track")
    page.get_by_label("Analysis").fill("Agency costs are back; a decision on the pilot is due.")
    page.get_by_role("button", name="Record check-in").click()
    page.wait_for_load_state()
    assert CheckIn.objects.filter(author__username="admin", confidence="off_track").exists()
