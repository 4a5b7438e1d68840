"""In the real Chromium: a product owner and three reviewers take a customer-facing use case
through review to approval; the submitter's own sign-off is refused."""

import re

import pytest
from playwright.sync_api import expect

from audit.models import AuditEvent
from governance.models import Review
from tests.governance.factories import CHECKLIST_ANSWERS, use_case_like
from tests.usecases.factories import score_for_review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = {
    "product_owner": "Ops product owner",
    "it_platform": "IT platform",
    "security": "Security",
    "legal": "Legal & compliance",
}


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")


def _sign_off(page, role, comment):
    row = page.get_by_test_id(f"signoff-{role}")
    row.get_by_label("Approved").check()
    row.get_by_label("Comment").fill(comment)
    row.get_by_role("button", name=f"Give {LABELS[role]} sign-off").click()
    page.wait_for_load_state()


def test_a_customer_facing_use_case_goes_through_review_to_approval(
    page, live_server, sign_in, submitter, reviewers, tmp_path
):
    use_case = use_case_like("support_triage", submitted_by=submitter, owner=submitter)
    score_for_review(use_case)

    # The submitter sends it to review from its governance page and answers the checklist.
    sign_in(page, "sara")
    page.get_by_role("link", name="Governance").click()
    page.get_by_test_id("lane-reviewed").get_by_role("link", name="Support triage").click()
    expect(page.get_by_test_id("lane")).to_have_text("Reviewed")
    expect(page.get_by_test_id("lane-reason")).to_contain_text("Customer-facing text")
    page.get_by_role(
        "button", name=re.compile("Send to review — opens the five-point review")
    ).click()
    expect(page.get_by_text("Moved to Review. The five-point review is open")).to_be_visible()
    page.get_by_role("link", name="Open the review").click()
    evidence = tmp_path / "vendor-soc2.txt"
    evidence.write_text("SOC 2 type II report summary")
    for key, answer in CHECKLIST_ANSWERS.items():
        item = page.get_by_test_id(f"checklist-{key}")
        item.get_by_label("Answer").fill(answer)
        item.get_by_label("Evidence links").fill("https://vendor.example.com/trust")
        if key == "model_vendor_risk":
            item.get_by_label("Evidence files").set_input_files(str(evidence))
    page.get_by_role("button", name="Save checklist").click()
    expect(page.get_by_test_id("checklist-saved")).to_contain_text("Saved: Model/vendor risk")
    expect(page.get_by_role("link", name=re.compile(r"vendor-soc2"))).to_be_visible()

    # Her own sign-off is refused: separation of duties.
    _sign_off(page, "product_owner", "Looks good to me")
    expect(page.get_by_test_id("sign-off-outcome")).to_contain_text(
        "Separation of duties: you submitted this use case"
    )
    expect(page.get_by_test_id("signoff-product_owner")).to_contain_text("Pending")
    review_url = page.url
    _sign_out(page)

    # The product owner and the three reviewers each find it in their queue and approve.
    for role, user in reviewers.items():
        sign_in(page, user.username)
        page.get_by_role("link", name="Governance").click()
        page.get_by_role("link", name="My review queue").click()
        queue_row = page.get_by_role("row", name=re.compile("Support triage"))
        expect(queue_row).to_contain_text(LABELS[role])
        queue_row.get_by_role("link", name="Support triage").click()
        _sign_off(page, role, f"{LABELS[role]}: approved with the evidence given")
        expect(page.get_by_text(f"{LABELS[role]} sign-off recorded.")).to_be_visible()
        expect(page.get_by_test_id(f"signoff-{role}")).to_contain_text(
            f"Approved by {user.username}"
        )
        _sign_out(page)

    sign_in(page, "sara")
    page.goto(review_url)
    expect(page.get_by_test_id("review-status")).to_have_text("Approved")
    fields = page.get_by_test_id("frozen-copy").locator("dl").first
    expect(fields).to_contain_text("Customer-facing")
    expect(fields).not_to_contain_text("customer_facing")
    page.get_by_role("link", name="Support triage").first.click()
    expect(page.get_by_text("Support · Approved")).to_be_visible()

    use_case.refresh_from_db()
    assert use_case.stage == "approved"
    review = Review.objects.get(use_case=use_case)
    assert review.status == "approved"
    assert review.decision_snapshot["checklist"][0]["files"][0].endswith(".txt")
    signers = set(
        AuditEvent.objects.filter(action="review.signed_off").values_list("actor_name", flat=True)
    )
    assert signers == {"pia", "ian", "sam", "lena"}


def test_the_kill_switch_takes_a_reason_and_a_tick_and_resuming_needs_the_product_owner(
    page, live_server, sign_in, owner_po, it_reviewer
):
    from rest_framework.test import APIClient

    from tests.governance.factories import worker_for

    use_case = use_case_like("support_triage", stage="production")
    worker = worker_for(use_case, owner_po)
    runtime = APIClient()
    status_url = f"/api/workers/{worker.pk}/status/"
    auth = {"HTTP_AUTHORIZATION": f"Worker {worker.runtime_token}"}

    sign_in(page, "ian")
    page.get_by_role("link", name="Governance").click()
    page.get_by_role("link", name="AI workers").click()
    page.get_by_role("link", name="Triage bot").click()
    page.get_by_label("Reason for pausing").fill("Customers got wrong refund amounts")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Kill switch: pause this worker").click()
    expect(page.get_by_test_id("worker-status").first).to_contain_text(
        "Paused — Customers got wrong refund amounts"
    )
    assert runtime.get(status_url, **auth).json()["status"] == "paused"
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)  # a reviewer cannot resume
    _sign_out(page)

    sign_in(page, "pia")
    page.goto(f"{live_server.url}/governance/")
    page.get_by_role("link", name="Triage bot").click()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_test_id("worker-status").first).to_have_text("Active")
    assert runtime.get(status_url, **auth).json()["status"] == "active"
