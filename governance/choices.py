"""Choices for governance: lanes, review checklist, sign-off roles, workers, incidents."""

from __future__ import annotations

from django.db import models


class Lane(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    REVIEWED = "reviewed", "Reviewed"
    PROHIBITED = "prohibited", "Prohibited"


# How strict each lane is: moving to a higher number reopens review.
LANE_STRICTNESS: dict[str, int] = {Lane.ALLOWED: 0, Lane.REVIEWED: 1, Lane.PROHIBITED: 2}


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded"


class ChecklistKey(models.TextChoices):
    """The five-point review of seed section 5."""

    MODEL_VENDOR_RISK = "model_vendor_risk", "Model/vendor risk"
    DATA_HANDLING = "data_handling", "Data handling"
    MONITORING = "monitoring", "Monitoring"
    ESCALATION = "escalation", "Escalation"
    AUDITABILITY = "auditability", "Auditability"


CHECKLIST_QUESTIONS: dict[str, str] = {
    ChecklistKey.MODEL_VENDOR_RISK: "What is the provider's security posture, retention policy and SLA?",
    ChecklistKey.DATA_HANDLING: "What data is used, where does it flow, and what is logged?",
    ChecklistKey.MONITORING: "How are accuracy, drift and customer-impact metrics watched?",
    ChecklistKey.ESCALATION: "Who gets paged, and how is the automation paused?",
    ChecklistKey.AUDITABILITY: "How are prompts, outputs and approvals tied to a ticket id?",
}


class SignOffRole(models.TextChoices):
    """Who owns which risk (seed section 5, "clear ownership")."""

    PRODUCT_OWNER = "product_owner", "Ops product owner"
    IT_PLATFORM = "it_platform", "IT platform"
    SECURITY = "security", "Security"
    LEGAL = "legal", "Legal & compliance"


class SignOffDecision(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class WorkerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    RETIRED = "retired", "Retired"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class PlaybookStep(models.TextChoices):
    """The incident playbook of seed section 5, in order."""

    STOP = "stop", "Stop the automation"
    CONTAIN = "contain", "Contain (identify affected)"
    CORRECT = "correct", "Correct (human-approved follow-up)"
    RECONCILE = "reconcile", "Reconcile"
    REVIEW = "review", "Post-incident review"
