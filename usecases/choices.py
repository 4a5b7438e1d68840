"""Choices for use cases: stage, value bucket, systems and the risk attributes."""

from __future__ import annotations

from django.db import models


class Stage(models.TextChoices):
    """Where a use case is on its way; ``usecases.lifecycle`` owns the moves between stages."""

    IDEA = "idea", "Idea"
    SCORING = "scoring", "Scoring"
    REVIEW = "review", "Review"
    APPROVED = "approved", "Approved"
    PILOT = "pilot", "Pilot"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"
    REJECTED = "rejected", "Rejected"


class ValueBucket(models.TextChoices):
    REVENUE = "revenue", "Revenue"
    COST = "cost", "Cost"
    RISK = "risk", "Risk"
    EXPERIENCE = "experience", "Experience"


class System(models.TextChoices):
    ERP = "erp", "ERP"
    CRM = "crm", "CRM"
    FINANCE = "finance", "Finance"
    SUPPLY_CHAIN = "supply_chain", "Supply chain"
    TICKETING = "ticketing", "Ticketing"
    WORKFLOW = "workflow", "Workflow"
    OTHER = "other", "Other"


class DataSensitivity(models.TextChoices):
    NONE = "none", "No sensitive data"
    INTERNAL = "internal", "Internal"
    PERSONAL = "personal", "Personal data"


class Audience(models.TextChoices):
    INTERNAL = "internal", "Internal"
    CUSTOMER_FACING = "customer_facing", "Customer-facing"


class Autonomy(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUGGEST = "suggest", "Suggest"
    ACT = "act", "Act"


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class RiskClass(models.TextChoices):
    """The shipped risk scheme: the EU AI Act's risk classes (``settings.RISK_SCHEME``)."""

    PROHIBITED = "prohibited", "Prohibited (unacceptable risk)"
    HIGH = "high", "High risk"
    LIMITED = "limited", "Limited risk"
    MINIMAL = "minimal", "Minimal risk"


class CustomFieldKind(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"
    URL = "url", "URL"
    YES_NO = "yes_no", "Yes/no"


class ImportState(models.TextChoices):
    MAPPING = "mapping", "Awaiting mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
