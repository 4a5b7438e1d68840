"""In the real Chromium: a reviewer signs in, sees the review waiting on them under
"Needs you" on the home page, and one click takes them to it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from governance.models import Review, SignOff
from tests.factories import UseCaseFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_goes_from_needs_you_to_the_review(page, live_server, sign_in, make_user):
    """GIVEN an open review whose security sign-off is assigned to sam
    WHEN sam signs in
    THEN home shows "Needs you" with the review (and the badge counts it), and clicking
    its "Sign off" link opens the review page."""
    sam = make_user("Reviewer", username="sam", specialty="security")
    review = Review.objects.create(
        use_case=UseCaseFactory(title="Collections outreach"), opened_reason="Reviewed lane"
    )
    SignOff.objects.create(review=review, role="security", assignee=sam)

    sign_in(page, "sam")
    needs = page.get_by_test_id("needs-you")
    expect(needs).to_be_visible()
    group = needs.get_by_test_id("need-reviews-to-sign")
    expect(group).to_contain_text("Reviews to sign")
    expect(group).to_contain_text("Security sign-off")
    expect(page.get_by_test_id("needs-badge")).to_have_text(re.compile(r"Needs you\s+1"))

    group.get_by_role("link", name="Sign off: Collections outreach").click()
    page.wait_for_url(f"**{review.get_absolute_url()}")
    expect(page.locator("h1")).to_contain_text("Collections outreach")
