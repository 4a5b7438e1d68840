"""Teams and use cases: the hub every other app points at."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from usecases.choices import (
    Audience,
    Autonomy,
    CustomFieldKind,
    DataSensitivity,
    Frequency,
    ImportState,
    Stage,
    System,
    ValueBucket,
)
from usecases.risk import risk_class_choices, risk_validate
from usecases.scoring import CRITERION_KEYS, Thresholds

SCORE_RANGE = [MinValueValidator(1), MaxValueValidator(5)]


# Separates the levels of a unit's path label: "Treasury › IRS › Taxpayer services".
PATH_SEPARATOR = " › "


class Team(models.Model):
    """An organisation unit: the organisation, a department, a division, a team — any depth.

    The admin defines the tree (``parent``); each unit has its product owner and the
    hourly cost its value estimates use, and a use case belongs to one unit. Two
    columns are kept by :meth:`save` for every unit below the one saved, so that any
    level of the tree is one indexed ``WHERE`` away and its label needs no join:

    - ``path`` — the ids from the root, ``"/1/5/12/"``; a unit's subtree is every unit
      whose path starts with its own (``usecases.units``);
    - ``path_label`` — the names from the root, joined by ``PATH_SEPARATOR``.

    (The class keeps its first name, ``Team``, and the use case its ``team`` field: a
    rename across every app and migration would buy nothing a reader needs.)
    """

    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, blank=True, db_index=True, editable=False)
    path_label = models.CharField(max_length=1000, blank=True, editable=False)
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
        help_text="Fully loaded cost of one hour of this unit's work, for value estimates.",
    )

    class Meta:
        ordering = ["path_label"]
        verbose_name = "organisation unit"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="team_name_unique_in_parent"),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(parent__isnull=True),
                name="team_root_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, then keep ``path`` and ``path_label`` right here and in every unit below."""
        with transaction.atomic():
            super().save(*args, **kwargs)
            parent = Team.objects.get(pk=self.parent_id) if self.parent_id else None
            path = f"{parent.path if parent else '/'}{self.pk}/"
            label = f"{parent.path_label}{PATH_SEPARATOR}{self.name}" if parent else self.name
            if path == self.path and label == self.path_label:
                return
            old_path, old_label = self.path, self.path_label
            Team.objects.filter(pk=self.pk).update(path=path, path_label=label)
            self.path, self.path_label = path, label
            if old_path:  # moved or renamed: the units below follow (few, so one by one)
                below = Team.objects.filter(path__startswith=old_path).exclude(pk=self.pk)
                for unit in below.order_by("path"):
                    Team.objects.filter(pk=unit.pk).update(
                        path=path + unit.path[len(old_path) :],
                        path_label=label + unit.path_label[len(old_label) :],
                    )

    @property
    def depth(self) -> int:
        """0 for a root unit, 1 for its children, …"""
        return max(self.path.count("/") - 2, 0)

    def clean(self) -> None:
        if self.parent_id is None or self.pk is None:
            return
        parent_path = Team.objects.filter(pk=self.parent_id).values_list("path", flat=True).first()
        if self.parent_id == self.pk or (parent_path or "").startswith(self.path or "\0"):
            raise ValidationError({"parent": "A unit cannot sit inside itself or a unit below it."})


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

    # Bounded so the value estimate (volume × minutes × share × hourly cost) always fits
    # the columns and sums it is computed into: a million cases a week, a week per case.
    cases_per_week = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(1_000_000)]
    )
    minutes_per_case = models.DecimalField(
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("10080"))],
    )
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
    kpis_touched = models.PositiveSmallIntegerField("KPIs touched", null=True, blank=True)
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

    # An owner who has no account (yet): named here, linked when they get one
    # (``usecases.contacts``).
    contact_name = models.CharField("owner's name", max_length=200, blank=True)
    contact_email = models.EmailField("owner's email", blank=True, db_index=True)

    # Risk classification under ``settings.RISK_SCHEME`` (shipped: the EU AI Act's classes).
    risk_class = models.CharField(max_length=20, choices=risk_class_choices, blank=True)
    high_impact = models.BooleanField("high-impact", null=True, blank=True)
    high_impact_justification = models.TextField(blank=True)

    # The organisation's own fields: key → value, as ``usecases.CustomField`` defines them.
    custom = models.JSONField(default=dict, blank=True)

    # Where an imported use case came from: re-imports from the same source match on
    # ``external_id`` (never on opsai's own ids).
    source = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    # Registered as found: imported at the stage it had already reached in the world,
    # so the gates it never passed through here are open obligations, not history.
    registered_at = models.DateTimeField(null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_from = models.CharField(max_length=300, blank=True)

    stage = models.CharField(
        max_length=20, choices=Stage.choices, default=Stage.IDEA, db_index=True
    )
    stage_entered_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    scores_revealed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the owner revealed every scorer's sheet."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="usecase_external_id_unique_in_source",
            )
        ]
        indexes = [
            # Lists by title (the portfolio's title sort, the governance page's use cases
            # owing an obligation) walk it and stop at the page: 25 ms → 1 ms at 10,000.
            models.Index(fields=["title", "id"], name="usecase_title_id"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("usecases:detail", args=[self.pk])

    def clean(self) -> None:
        systems = self.systems_touched
        if not isinstance(systems, list) or any(s not in System.values for s in systems):
            raise ValidationError(
                {
                    "systems_touched": "Systems touched must be a list of: "
                    + ", ".join(System.values)
                    + "."
                }
            )
        problems = risk_validate(
            high_impact=self.high_impact,
            justification=self.high_impact_justification,
        )
        if problems:
            raise ValidationError(problems)

    @property
    def is_draft(self) -> bool:
        """Not submitted yet: intake fields may still be missing."""
        return self.submitted_at is None

    @property
    def registered_as_found(self) -> bool:
        return self.registered_at is not None


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


class ScoringModel(models.Model):
    """One version of the scoring matrix: criterion weights and the flag thresholds.

    Versions are never edited: an admin changes a weight by creating the next
    version (``usecases.services.scoring_model_create``). Every score records the
    version that produced it, so a past ranking can be recomputed exactly.
    """

    version = models.PositiveIntegerField(unique=True)
    note = models.CharField(max_length=300, blank=True)
    weight_value = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("3"))
    weight_feasibility = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("2"))
    weight_data_readiness = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("2")
    )
    weight_integration_complexity = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("1.5")
    )
    weight_change_pain = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1.5"))

    radar_min_rules_clarity = models.PositiveSmallIntegerField(
        default=3, validators=[MaxValueValidator(5)], help_text="Rules clarity (0–5) at least."
    )
    radar_min_frequency = models.CharField(
        max_length=20,
        choices=Frequency.choices,
        default=Frequency.WEEKLY,
        help_text="The work happens at least this often.",
    )
    radar_min_cases_per_week = models.PositiveIntegerField(
        default=50, help_text="…and at least this many cases a week."
    )
    radar_min_rework_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Share of cases reworked at least (0–1).",
    )
    quick_win_min_value = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("4"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("5"))],
    )
    quick_win_min_feasibility = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("4"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("5"))],
    )
    political_thriller_min_approvals = models.PositiveSmallIntegerField(default=5)
    calibration_spread = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text="Scorers this many points apart on a criterion need a calibration talk.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weight_value__gte=0)
                & models.Q(weight_feasibility__gte=0)
                & models.Q(weight_data_readiness__gte=0)
                & models.Q(weight_integration_complexity__gte=0)
                & models.Q(weight_change_pain__gte=0),
                name="scoringmodel_weights_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"Scoring model v{self.version}" if self.version else "Default scoring model"

    @property
    def weights(self) -> dict[str, Decimal]:
        """Criterion key → weight."""
        return {key: getattr(self, f"weight_{key}") for key in CRITERION_KEYS}

    @property
    def thresholds(self) -> Any:
        """The flag thresholds as a plain :class:`usecases.scoring.Thresholds`."""
        return Thresholds(
            radar_min_rules_clarity=self.radar_min_rules_clarity,
            radar_min_frequency=self.radar_min_frequency,
            radar_min_cases_per_week=self.radar_min_cases_per_week,
            radar_min_rework_share=self.radar_min_rework_share,
            quick_win_min_value=self.quick_win_min_value,
            quick_win_min_feasibility=self.quick_win_min_feasibility,
            political_thriller_min_approvals=self.political_thriller_min_approvals,
            calibration_spread=self.calibration_spread,
        )

    def clean(self) -> None:
        if sum(self.weights.values()) <= 0:
            raise ValidationError({"weight_value": "At least one weight must be above zero."})


class Score(models.Model):
    """One scorer's sheet for one use case: each criterion 1–5 with its rationale.

    Re-scoring never overwrites: the previous sheet gets ``superseded_at`` and a new
    one is written, so the history of a use case's score is kept. ``weighted_score``
    is computed with the sheet's own scoring-model version when it is submitted.
    """

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="scores")
    scorer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="use_case_scores"
    )
    scoring_model = models.ForeignKey(ScoringModel, on_delete=models.PROTECT, related_name="scores")
    value = models.PositiveSmallIntegerField(validators=SCORE_RANGE)
    value_rationale = models.TextField()
    feasibility = models.PositiveSmallIntegerField(validators=SCORE_RANGE)
    feasibility_rationale = models.TextField()
    data_readiness = models.PositiveSmallIntegerField(validators=SCORE_RANGE)
    data_readiness_rationale = models.TextField()
    integration_complexity = models.PositiveSmallIntegerField(validators=SCORE_RANGE)
    integration_complexity_rationale = models.TextField()
    change_pain = models.PositiveSmallIntegerField(validators=SCORE_RANGE)
    change_pain_rationale = models.TextField()
    weighted_score = models.DecimalField(max_digits=4, decimal_places=2)
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submitted_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["use_case", "scorer"],
                condition=models.Q(superseded_at__isnull=True),
                name="score_one_current_sheet_per_scorer",
            ),
            *[
                models.CheckConstraint(
                    condition=models.Q(**{f"{key}__gte": 1, f"{key}__lte": 5}),
                    name=f"score_{key}_1_to_5",
                )
                for key in (
                    "value",
                    "feasibility",
                    "data_readiness",
                    "integration_complexity",
                    "change_pain",
                )
            ],
        ]

    def __str__(self) -> str:
        return f"{self.scorer} on {self.use_case}: {self.weighted_score}"

    def values(self) -> dict[str, int]:
        """Criterion key → this sheet's 1–5 score."""
        return {key: getattr(self, key) for key in CRITERION_KEYS}


class UseCaseScoreFigures(models.Model):
    """One use case's current sheets summed up: how many, the mean of each criterion and
    the widest spread — derived data, kept by ``usecases.services.score_figures_refresh``
    (which ``score_submit`` calls in its transaction).

    The portfolio joins it once (``usecases.selectors.usecase_portfolio``) instead of
    grouping the wide use-case row by its sheets (0.8 s at 10,000 use cases) or
    aggregating every sheet on each page view. A use case with no current sheet has no
    row here.
    """

    use_case = models.OneToOneField(
        UseCase, primary_key=True, on_delete=models.CASCADE, related_name="score_figures"
    )
    scorers = models.IntegerField()
    mean_value = models.FloatField()
    mean_feasibility = models.FloatField()
    mean_data_readiness = models.FloatField()
    mean_integration_complexity = models.FloatField()
    mean_change_pain = models.FloatField()
    spread = models.IntegerField()

    class Meta:
        db_table = "usecases_score_figures"

    def __str__(self) -> str:
        return f"{self.use_case_id}: {self.scorers} sheet(s)"


class CustomField(models.Model):
    """A field an organisation adds to its use cases (admins define them).

    Values live in ``UseCase.custom`` under ``key``; ``usecases.custom_fields`` checks
    and converts them, and the form, page, filters, API, import and export use it.
    """

    key = models.SlugField(
        max_length=40, unique=True, help_text="Stored name, e.g. impact_assessment_url."
    )
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=CustomFieldKind.choices)
    choices = models.JSONField(
        default=list, blank=True, help_text="For a choice field: the allowed values."
    )
    help_text = models.CharField(max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "label"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        if self.kind == CustomFieldKind.CHOICE:
            if (
                not isinstance(self.choices, list)
                or not self.choices
                or not all(isinstance(c, str) and c.strip() for c in self.choices)
            ):
                raise ValidationError({"choices": "A choice field needs a list of values."})
        elif self.choices:
            raise ValidationError({"choices": "Only a choice field has choices."})


class ImportMapping(models.Model):
    """How one source's files map onto opsai, saved for the next upload from that source.

    ``columns``: the file's column → an opsai field key (``usecases.onboarding``), or
    "" for a column left out. ``values``: field key → {the file's value → opsai's}.
    """

    source = models.CharField(max_length=100, unique=True)
    columns = models.JSONField(default=dict, blank=True)
    values = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return self.source


class ImportJob(models.Model):
    """One use-case import run in the background: who sent which file, its progress, its outcome.

    The file's bytes wait in ``content`` (in the database, so a worker on another host
    needs no shared disk) until the job has read them. The import is all or nothing: a
    ``failed`` job saved no use case and ``errors`` lists the first bad rows ("Line N:
    field: reason"), ``error_count`` all of them; a ``done`` job created or updated
    every row.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content = models.BinaryField(blank=True, default=b"")
    # An onboarding import: the source it comes from and the mapping the user confirmed
    # (columns, values, options); empty for a file in opsai's own columns.
    source = models.CharField(max_length=100, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=ImportState.choices, default=ImportState.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_saved = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.filename}, {self.get_state_display()})"

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)

    @property
    def progress_percent(self) -> int:
        """Checking every row is the first half of the work, saving them the second."""
        if not self.rows_total:
            return 100 if self.finished else 0
        return int(50 * (self.rows_checked + self.rows_saved) / self.rows_total)
