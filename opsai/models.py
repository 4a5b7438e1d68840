"""Models shared by every app: the user's profile (reviewer specialty)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from opsai.roles import ReviewerSpecialty


class UserProfile(models.Model):
    """What opsai knows about a user beyond Django's auth user.

    Roles are groups; a reviewer's specialty decides which sign-offs they give;
    ``weekly_digest`` whether they get the weekly "Needs you" email.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    reviewer_specialty = models.CharField(
        max_length=20, choices=ReviewerSpecialty.choices, blank=True
    )
    # The weekly "Needs you" email (opsai.digest); the person turns it off on their profile.
    weekly_digest = models.BooleanField(
        "weekly email of what needs me",
        default=True,
        help_text="Every Monday morning: what is waiting on you, when anything is.",
    )
    # The Monday of the last digest sent: a second run in the same week sends nothing.
    digest_sent_week = models.DateField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class OutboxJob(models.Model):
    """A background job recorded in the same transaction as the change that causes it.

    ``opsai.jobs.enqueue_on_commit`` inserts it; on commit, or later through the relay
    (``opsai.outbox``), it is published to Celery (*sent*); the worker that finishes the
    task marks it *done* or *failed*. A rolled-back change leaves no row, a committed one
    always has its job, whatever the broker's state at the time.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # How many times a publisher tried to hand it to the broker (failed tries included).
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="opsai_outbox_state_created")]

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk} ({self.state})"
