"""Teams and use cases: the hub every other app points at."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from usecases.choices import (
    Audience,
    Autonomy,
    DataSensitivity,
    Frequency,
    Stage,
    TeamFunction,
    ValueBucket,
)


class Team(models.Model):
    """A function of the organisation (Support, Finance, …) with its product owner."""

    name = models.CharField(max_length=60, unique=True, choices=TeamFunction.choices)
    product_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_teams",
    )
    hourly_cost = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal("45.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Fully loaded cost of one hour of this team's work, for value estimates.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UseCase(models.Model):
    """A candidate (or live) AI use case, described in the words of its ops lead.

    Intake fields may be blank while the use case is a draft; submitting it
    (``usecases.services.usecase_submit``) validates that they are complete.
    """

    title = models.CharField(max_length=200)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="use_cases")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_use_cases",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submitted_use_cases",
    )
    template_key = models.CharField(max_length=40, blank=True)

    problem = models.TextField(blank=True)
    current_workflow = models.TextField(blank=True)
    business_outcome = models.CharField(
        max_length=200, blank=True, help_text='In plain words: "Reduce average handle time by 15%".'
    )
    value_bucket = models.CharField(max_length=20, choices=ValueBucket.choices, blank=True)
    value_claim = models.CharField(max_length=300, blank=True)
    systems_touched = models.JSONField(default=list, blank=True)

    cases_per_week = models.PositiveIntegerField(null=True, blank=True)
    minutes_per_case = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    rework_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Share of cases reworked, 0–1.",
    )
    approvals_needed = models.PositiveSmallIntegerField(null=True, blank=True)
    teams_touched = models.PositiveSmallIntegerField(null=True, blank=True)
    kpis_touched = models.PositiveSmallIntegerField(null=True, blank=True)
    rules_clarity = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(5)],
        help_text="How much clear if-this-then-that logic, 0–5.",
    )
    frequency = models.CharField(max_length=20, choices=Frequency.choices, blank=True)
    expected_automation_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Share of the handling time the AI worker is expected to remove, 0–1.",
    )

    data_sensitivity = models.CharField(max_length=20, choices=DataSensitivity.choices, blank=True)
    audience = models.CharField(max_length=20, choices=Audience.choices, blank=True)
    autonomy = models.CharField(max_length=20, choices=Autonomy.choices, blank=True)
    money_movement = models.BooleanField(null=True, blank=True)
    vendor_model = models.BooleanField(null=True, blank=True)
    trains_on_customer_data = models.BooleanField(default=False)
    exports_data = models.BooleanField(default=False)

    stage = models.CharField(
        max_length=20, choices=Stage.choices, default=Stage.IDEA, db_index=True
    )
    stage_entered_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("usecases:detail", args=[self.pk])


class StageChange(models.Model):
    """One move of a use case through the lifecycle: who, when, from, to."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.use_case}: {self.from_stage or '—'} → {self.to_stage}"
