"""In the real Chromium: a reviewer answers the whole checklist, saves once, sees "Saved" where
they are (the page does not jump away), and signs off next to what they sign."""

import re

import pytest
from playwright.sync_api import expect

from governance.models import ChecklistItem, Review
from tests.governance.factories import CHECKLIST_ANSWERS, use_case_like
from tests.usecases.factories import score_for_review
from usecases.services import usecase_move_stage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_answers_all_five_saves_once_and_signs_off(
    page, live_server, sign_in, submitter, reviewers
):
    """GIVEN a use case in review WHEN the IT platform reviewer opens it from the queue,
    answers the five items and saves once THEN each item shows "Answered", "Saved" is on
    screen by the Save button with the page where it was, and the sign-off goes through."""
    use_case = use_case_like("support_triage", submitted_by=submitter, owner=submitter)
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=submitter)
    review = Review.objects.get(use_case=use_case)

    sign_in(page, "ian")
    page.get_by_role("link", name="Governance").click()
    page.get_by_role("link", name="My review queue").click()
    page.get_by_role("row", name=re.compile("Support triage")).get_by_role(
        "link", name="Support triage"
    ).click()
    expect(page.get_by_test_id("checklist-count")).to_have_text("0 of 5 answered")
    expect(page.get_by_test_id("item-state")).to_have_text(["Not answered"] * 5)

    for key, answer in CHECKLIST_ANSWERS.items():
        page.get_by_test_id(f"checklist-{key}").get_by_label("Answer").fill(answer)
    save = page.get_by_role("button", name="Save checklist")
    save.scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 200  # the reviewer is well down the page
    save.click()

    saved = page.get_by_test_id("checklist-saved")
    expect(saved).to_contain_text("Saved: Model/vendor risk, Data handling")
    expect(saved).to_be_in_viewport()
    assert abs(page.evaluate("window.scrollY") - scrolled) < 150  # no jump to the top
    expect(page.get_by_test_id("item-state")).to_have_text(["Answered"] * 5)
    expect(page.get_by_test_id("checklist-count")).to_have_text("5 of 5 answered")
    expect(page.get_by_test_id("sign-off-summary")).to_contain_text("Checklist: 5 of 5 answered.")
    assert set(ChecklistItem.objects.filter(review=review).values_list("answer", flat=True)) == set(
        CHECKLIST_ANSWERS.values()
    )

    row = page.get_by_test_id("signoff-it_platform")
    row.get_by_label("Approved").check()
    row.get_by_label("Comment").fill("Platform checks done.")
    row.get_by_role("button", name="Give IT platform sign-off").click()
    outcome = page.get_by_test_id("sign-off-outcome")
    expect(outcome).to_have_text("IT platform sign-off recorded.")
    expect(outcome).to_be_in_viewport()
    expect(page.get_by_test_id("signoff-it_platform")).to_contain_text("Approved by ian")
    expect(page.get_by_test_id("sign-off-summary")).to_contain_text(
        "Signed: IT platform — approved by ian."
    )
