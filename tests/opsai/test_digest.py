"""The weekly "Needs you" email (``opsai.digest``): one per person with something waiting
who has not turned it off, once a week, with absolute links; and the profile toggle."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from audit.models import AuditEvent
from governance.models import Review, SignOff
from opsai.digest import needs_digest_send
from opsai.models import OutboxJob, UserProfile
from opsai.tasks import send_needs_digest
from tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db

EMAIL = "opsai.tasks.email_send"


def digests() -> list[dict[str, Any]]:
    return [job.kwargs for job in OutboxJob.objects.filter(task_name=EMAIL).order_by("pk")]


def waiting_review(reviewer: Any, title: str = "Collections outreach") -> Review:
    review = Review.objects.create(use_case=UseCaseFactory(title=title), opened_reason="Lane")
    SignOff.objects.create(review=review, role="security", assignee=reviewer)
    return review


@pytest.fixture
def sam(make_user):
    return make_user("Reviewer", username="sam", specialty="security")


@pytest.fixture
def sid(make_user):
    return make_user("Reviewer", username="sid", specialty="security")


def test_one_email_per_opted_in_person_with_something_waiting(sam, sid, ops_lead, settings):
    """GIVEN sam and sid each waited on by a review, sid having turned the digest off,
    and an ops lead with nothing waiting
    WHEN the weekly digest runs
    THEN only sam's email is recorded, listing the review with an absolute link and
    saying where to turn it off."""
    settings.SITE_URL = "https://opsai.example.com"
    review = waiting_review(sam)
    waiting_review(sid, "Quote to cash")
    UserProfile.objects.filter(user=sid).update(weekly_digest=False)

    assert needs_digest_send() == 1

    [email] = digests()
    assert email["recipients"] == [sam.email]
    assert "1 thing needs you" in email["subject"]
    assert "Collections outreach" in email["body"]
    assert f"Sign off: https://opsai.example.com{review.get_absolute_url()}" in email["body"]
    assert "Turn it off on your profile: https://opsai.example.com/profile/" in email["body"]
    assert f'href="https://opsai.example.com{review.get_absolute_url()}"' in email["html"]
    assert "Quote to cash" not in email["body"]


def test_a_second_run_in_the_same_week_sends_nothing_twice(sam):
    waiting_review(sam)
    assert send_needs_digest() == 1
    assert send_needs_digest() == 0
    assert len(digests()) == 1


def test_the_email_is_sent_by_the_worker_job(sam, run_outbox):
    waiting_review(sam)
    needs_digest_send()
    assert run_outbox(EMAIL) == 1
    [message] = mail.outbox
    assert message.to == [sam.email]
    assert "Reviews to sign (1)" in message.alternatives[0][0]


def test_the_digest_is_on_the_beat_schedule_monday_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["opsai-needs-digest"]
    assert entry["task"] == "opsai.tasks.send_needs_digest"
    schedule = entry["schedule"]
    assert schedule.day_of_week == {1} and schedule.hour == {7} and schedule.minute == {0}


def test_an_inactive_person_gets_none(sam):
    waiting_review(sam)
    sam.is_active = False
    sam.save()
    assert needs_digest_send() == 0


# --- The profile toggle -----------------------------------------------------------------


def test_the_profile_toggle_turns_the_digest_off_and_on_audited(client, sam):
    """GIVEN sam, waited on by a review, on his profile page
    WHEN he unticks the weekly email and saves
    THEN his profile says off, the change is on the audit trail and the digest skips
    him; ticking it again turns it back on."""
    waiting_review(sam)
    client.force_login(sam)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'name="weekly_digest"' in page and "checked" in page

    response = client.post(reverse("accounts:digest"), {})
    assert response.status_code == 302
    assert UserProfile.objects.get(user=sam).weekly_digest is False
    event = AuditEvent.objects.get(action="profile.digest_changed")
    assert event.before == {"weekly_digest": True} and event.after == {"weekly_digest": False}
    assert needs_digest_send() == 0

    client.post(reverse("accounts:digest"), {"weekly_digest": "on"})
    assert UserProfile.objects.get(user=sam).weekly_digest is True
    assert needs_digest_send() == 1


def test_the_toggle_changes_only_ones_own_setting(client, sam, sid):
    client.force_login(sam)
    client.post(reverse("accounts:digest"), {"user": sid.pk})
    assert UserProfile.objects.get(user=sid).weekly_digest is True
    assert UserProfile.objects.get(user=sam).weekly_digest is False
