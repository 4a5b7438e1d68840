"""Choices for KPIs: level in the stack, direction, target type, cadence, source, status."""

from __future__ import annotations

from django.db import models


class Level(models.TextChoices):
    BUSINESS = "business", "Business KPI"
    OPERATIONAL = "operational", "Operational KPI"
    LEADING = "leading", "Leading indicator"
    MODEL = "model", "Model/service metric"


class Direction(models.TextChoices):
    UP = "up", "Higher is better"
    DOWN = "down", "Lower is better"


class TargetType(models.TextChoices):
    AT_LEAST = "at_least", "Stay at or above"
    AT_MOST = "at_most", "Stay at or below"
    INCREASE_TO = "increase_to", "Increase to"
    DECREASE_TO = "decrease_to", "Decrease to"


class Cadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Source(models.TextChoices):
    MANUAL = "manual", "Manual"
    CSV = "csv", "CSV/Excel"
    API = "api", "API"


class Status(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    NO_DATA = "no_data", "No data"


class Confidence(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"


class AnnotationKind(models.TextChoices):
    RELEASE = "release", "Release"
    INCIDENT = "incident", "Incident"
    PAUSE = "pause", "Pause"
    NOTE = "note", "Note"


class AlertReason(models.TextChoices):
    OFF_TRACK = "off_track", "Off track"
    GUARDRAIL = "guardrail", "Guardrail crossed"


class AlertState(models.TextChoices):
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class BatchSource(models.TextChoices):
    FORM = "form", "Form"
    CSV = "csv", "CSV upload"
    EXCEL = "excel", "Excel upload"
    API = "api", "API"


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SAVED = "saved", "Saved"
    REJECTED = "rejected", "Rejected (nothing saved)"
    FAILED = "failed", "Failed"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned (its worker stopped)"
