"""Governance: lane policy, reviews and sign-offs, vendors, AI workers, releases,
incidents (the audit trail they write to lives in ``audit``)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils import timezone

from governance.choices import (
    ChecklistKey,
    IncidentStatus,
    Lane,
    PlaybookStep,
    ReviewStatus,
    Severity,
    SignOffDecision,
    SignOffRole,
    WorkerStatus,
)
from usecases.choices import Autonomy

# --- Lane policy ----------------------------------------------------------------------------


class LanePolicy(models.Model):
    """One version of the lane policy: an ordered set of rules. Never edited, only superseded.

    The current policy is the one with the highest version; admins change the rules
    by creating a new version (``governance.services.lane_policy_create``).
    """

    version = models.PositiveIntegerField(unique=True)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "lane policies"

    def __str__(self) -> str:
        return f"Lane policy v{self.version}"


class LaneRule(models.Model):
    """A rule of a policy: when every condition matches, the use case lands in ``lane``.

    ``conditions`` maps a use-case attribute to the values that match, e.g.
    ``{"autonomy": ["act"], "money_movement": [true]}``; an empty mapping matches all.
    Rules are tried in ``position`` order and the first match decides.
    """

    policy = models.ForeignKey(LanePolicy, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    lane = models.CharField(max_length=20, choices=Lane.choices)
    conditions = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="lane_rule_unique_position")
        ]

    def __str__(self) -> str:
        return f"v{self.policy.version} #{self.position} {self.name} → {self.get_lane_display()}"


class LaneAssignment(models.Model):
    """The lane a use case is in now, and which rule of which policy put it there."""

    use_case = models.OneToOneField(
        "usecases.UseCase", on_delete=models.CASCADE, related_name="lane_assignment"
    )
    lane = models.CharField(max_length=20, choices=Lane.choices, db_index=True)
    policy = models.ForeignKey(LanePolicy, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(LaneRule, on_delete=models.PROTECT, null=True, related_name="+")
    reason = models.CharField(max_length=500)
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The governance page lists each lane's latest decisions: an index walk, not a
            # sort of every use case in the lane.
            models.Index(
                "lane", models.F("assigned_at").desc(), models.F("id").desc(), name="lane_latest"
            )
        ]

    def __str__(self) -> str:
        return f"{self.use_case}: {self.get_lane_display()}"


# --- Reviews --------------------------------------------------------------------------------


class Review(models.Model):
    """The five-point review of a Reviewed use case, with its required sign-offs.

    ``decision_snapshot`` is the frozen copy of the use case, its AI workers and the
    checklist as they stood when the review was decided; later edits never touch it.
    """

    use_case = models.ForeignKey(
        "usecases.UseCase", on_delete=models.CASCADE, related_name="reviews"
    )
    status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.OPEN, db_index=True
    )
    opened_reason = models.CharField(max_length=300)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_snapshot = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # At most one open review per use case.
            models.UniqueConstraint(
                fields=["use_case"],
                condition=models.Q(status="open"),
                name="review_one_open_per_use_case",
            )
        ]

    def __str__(self) -> str:
        return f"Review #{self.pk} of {self.use_case}"

    def get_absolute_url(self) -> str:
        return reverse("governance:review", args=[self.pk])


class ChecklistItem(models.Model):
    """One of the five checklist items of a review: the answer and its evidence."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="checklist")
    key = models.CharField(max_length=30, choices=ChecklistKey.choices)
    answer = models.TextField(blank=True)
    evidence_text = models.TextField(blank=True)
    evidence_links = models.JSONField(default=list, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["review", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["review", "key"], name="checklist_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.review}: {self.get_key_display()}"


class EvidenceFile(models.Model):
    """A file attached as evidence to a checklist item (stored under MEDIA_ROOT)."""

    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to="governance/evidence/%Y/%m/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.file.name


class SignOff(models.Model):
    """A required sign-off of a review by one role, and the reviewer's decision."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="sign_offs")
    role = models.CharField(max_length=20, choices=SignOffRole.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_sign_offs",
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    decision = models.CharField(
        max_length=20, choices=SignOffDecision.choices, default=SignOffDecision.PENDING
    )
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["review", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["review", "role"], name="signoff_unique_role")
        ]

    def __str__(self) -> str:
        return f"{self.review}: {self.get_role_display()} {self.get_decision_display()}"


# --- Vendors, AI workers, releases ----------------------------------------------------------


class Vendor(models.Model):
    """A model or service provider, with its risk facts and when it is next reviewed."""

    name = models.CharField(max_length=120, unique=True)
    security_posture = models.TextField(blank=True)
    retention_policy = models.TextField(blank=True)
    sla = models.CharField(max_length=200, blank=True)
    last_reviewed_on = models.DateField(null=True, blank=True)
    next_review_due = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AIWorker(models.Model):
    """An AI worker of an approved use case: what it does, where humans decide, its kill switch.

    The worker runs elsewhere (ticketing rule, ERP job, vendor agent) and polls
    ``/api/workers/<id>/status/`` with its runtime token; only the token's SHA-256 is kept.
    """

    use_case = models.ForeignKey(
        "usecases.UseCase", on_delete=models.PROTECT, related_name="ai_workers"
    )
    name = models.CharField(max_length=120)
    tasks_handled = models.TextField(help_text="What tasks the worker handles.")
    human_role = models.TextField(
        help_text="Where humans decide: who reviews, when, and what good looks like."
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="ai_workers"
    )
    model_name = models.CharField(max_length=120)
    model_version = models.CharField(max_length=120)
    autonomy = models.CharField(max_length=20, choices=Autonomy.choices)
    human_approval_threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Amount above which a human must approve (e.g. refunds); blank for none.",
    )
    status = models.CharField(
        max_length=20, choices=WorkerStatus.choices, default=WorkerStatus.ACTIVE, db_index=True
    )
    auto_pause_on_guardrail = models.BooleanField(
        default=False, help_text="Pause automatically when a guardrail KPI crosses its threshold."
    )
    escalation_contacts = models.JSONField(
        default=list, blank=True, help_text="Email addresses told when the worker is paused."
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pause_reason = models.CharField(max_length=500, blank=True)
    runtime_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["use_case", "name"]
        verbose_name = "AI worker"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("governance:worker", args=[self.pk])

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class Release(models.Model):
    """A deployment of an AI worker, or (with ``rollback_of``) the rollback of one."""

    worker = models.ForeignKey(AIWorker, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=60)
    notes = models.TextField(blank=True)
    deployed_at = models.DateTimeField(default=timezone.now)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rollback_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rolled_back_by"
    )

    class Meta:
        ordering = ["-deployed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.worker} {self.version}"


# --- Incidents ------------------------------------------------------------------------------


class Incident(models.Model):
    """Something an AI worker got wrong, worked through the seed's playbook steps."""

    use_case = models.ForeignKey(
        "usecases.UseCase", on_delete=models.PROTECT, related_name="incidents"
    )
    worker = models.ForeignKey(
        AIWorker, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=20, choices=Severity.choices)
    what_happened = models.TextField()
    affected = models.TextField(blank=True, help_text="Affected customers or cases.")
    affected_count = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.OPEN, db_index=True
    )
    rule_change = models.CharField(
        max_length=300, blank=True, help_text='The rule the review changed, or "none".'
    )
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    source_key = models.CharField(
        max_length=80, blank=True, help_text="What opened it automatically, e.g. kpis.alert:12."
    )

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # One incident per automatic source, so handling an alert twice opens one.
            models.UniqueConstraint(
                fields=["source_key"],
                condition=~models.Q(source_key=""),
                name="incident_unique_source_key",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("governance:incident", args=[self.pk])


class IncidentStep(models.Model):
    """One playbook step of an incident, with its owner and when it was done."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=20, choices=PlaybookStep.choices)
    position = models.PositiveSmallIntegerField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["incident", "position"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "kind"], name="incident_step_unique_kind")
        ]

    def __str__(self) -> str:
        return f"{self.incident}: {self.get_kind_display()}"
