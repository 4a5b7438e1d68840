"""KPI stacks, measurements, snapshots, check-ins, annotations, alerts and job runs."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from kpis.choices import (
    AlertReason,
    AlertState,
    AnnotationKind,
    BatchSource,
    BatchStatus,
    Cadence,
    Confidence,
    Direction,
    Level,
    RunStatus,
    Source,
    Status,
    TargetType,
)
from usecases.models import UseCase


class KPI(models.Model):
    """One KPI in a use case's stack (business → operational → leading → model).

    The baseline is either a fixed ``baseline_value`` or the mean of the
    measurements between ``baseline_start`` and ``baseline_end`` (the weeks before
    go-live). ``value_per_unit`` (business KPIs) is the money one unit of sustained
    improvement is worth per year, so movement converts into realised value.
    """

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="kpis")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    name = models.CharField(max_length=200)
    level = models.CharField(max_length=20, choices=Level.choices)
    unit = models.CharField(max_length=30, blank=True)
    direction = models.CharField(max_length=4, choices=Direction.choices, default=Direction.UP)
    baseline_value = models.FloatField(null=True, blank=True)
    baseline_start = models.DateField(null=True, blank=True)
    baseline_end = models.DateField(null=True, blank=True)
    target_value = models.FloatField(null=True, blank=True)
    target_type = models.CharField(max_length=20, choices=TargetType.choices, blank=True)
    target_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_kpis",
    )
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.DAILY)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    guardrail_threshold = models.FloatField(
        null=True,
        blank=True,
        help_text="A value on the bad side of which the KPI is off track at once "
        "(below it when higher is better, above it when lower is better).",
    )
    value_per_unit = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Business KPIs: money one unit of sustained improvement is worth per year.",
    )
    alert_after_snapshots = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1)],
        help_text="Consecutive bad snapshots before a pending slip alert fires.",
    )
    current_snapshot = models.ForeignKey(
        "Snapshot", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["use_case_id", "pk"]
        verbose_name = "KPI"
        constraints = [
            models.UniqueConstraint(
                fields=["use_case", "name"], name="kpi_unique_name_per_use_case"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("kpis:kpi", args=[self.pk])

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.parent_id and self.parent_id == self.pk:
            errors["parent"] = "A KPI cannot be its own parent."
        if self.parent_id and self.parent.use_case_id != self.use_case_id:
            errors["parent"] = "The parent KPI must belong to the same use case."
        if self.level == Level.BUSINESS and self.parent_id:
            errors["parent"] = "A business KPI sits at the top of the stack: it has no parent."
        if (self.baseline_start is None) != (self.baseline_end is None):
            errors["baseline_end"] = "Give both ends of the baseline window, or neither."
        elif self.baseline_start and self.baseline_end and self.baseline_end < self.baseline_start:
            errors["baseline_end"] = "The baseline window ends before it starts."
        if self.target_type and self.target_value is None:
            errors["target_value"] = "A target type needs a target value."
        if self.value_per_unit is not None and self.level != Level.BUSINESS:
            errors["value_per_unit"] = "Only business KPIs carry a money value per unit."
        if errors:
            raise ValidationError(errors)


class IngestBatch(models.Model):
    """One delivery of measurements (form, upload or API): who, when, how many, which errors.

    A batch with a bad row saves nothing: ``errors`` lists every bad row with its line
    number. Large uploads keep their raw ``payload`` until a background job has
    processed it: the job validates every row first (``rows_processed``, then
    ``validated_at``), then saves the rows in chunks, each committed with its progress
    (``rows_saved``), holding a lease (``leased_until``, renewed after each chunk) that
    a sweeper takes back when its worker vanishes; ``attempts`` counts the claims.
    """

    source = models.CharField(max_length=10, choices=BatchSource.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    payload = models.TextField(blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    rows_saved = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    leased_until = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "ingest batches"
        indexes = [
            # The sweeper's look-up of running batches whose lease ran out.
            models.Index(
                fields=["leased_until"],
                condition=models.Q(status="running"),
                name="ingestbatch_running_lease",
            )
        ]

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.get_source_display()}, {self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        """Checking and saving each count for half of the bar."""
        if not self.rows_total:
            return 0
        return int(50 * (self.rows_processed + self.rows_saved) / self.rows_total)


class Measurement(models.Model):
    """One value of a KPI at a timestamp; re-sending the same timestamp updates it."""

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="measurements")
    timestamp = models.DateTimeField()
    value = models.FloatField()
    source = models.CharField(max_length=10, choices=BatchSource.choices, default=BatchSource.FORM)
    batch = models.ForeignKey(
        IngestBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="measurements"
    )

    class Meta:
        ordering = ["kpi_id", "timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "timestamp"], name="measurement_one_per_timestamp"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kpi_id} @ {self.timestamp:%Y-%m-%d %H:%M}: {self.value}"


class RefreshRun(models.Model):
    """One run of the snapshot refresh: when, which KPIs, how many, and any error.

    A running run holds a lease (``leased_until``) and, while it computes, a lock on its
    own row; the sweeper marks a run whose lease ran out and whose row nobody holds
    *abandoned* (its worker died) and queues a fresh refresh as ``attempt`` + 1.
    """

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    attempt = models.PositiveSmallIntegerField(default=1)
    leased_until = models.DateTimeField(null=True, blank=True)
    # The outbox job whose delivery runs it (none for beat's hourly refresh): when its
    # worker dies, the sweeper closes that job in favour of the refresh it queues.
    outbox_job_id = models.PositiveBigIntegerField(null=True, blank=True)
    as_of = models.DateField()
    full = models.BooleanField(default=True)
    kpi_ids = models.JSONField(default=list, blank=True)
    kpis_refreshed = models.PositiveIntegerField(default=0)
    alerts_fired = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(
                fields=["leased_until"],
                condition=models.Q(status="running"),
                name="refreshrun_running_lease",
            )
        ]

    def __str__(self) -> str:
        return f"Refresh {self.pk} as of {self.as_of}"


class Snapshot(models.Model):
    """A KPI's computed state as of one day; one row per KPI per day, history kept.

    ``status`` is the KPI's own; ``rolled_up_status`` is the worst of its own and
    its children's. Values are ``None`` when there is not enough data to compute them.
    """

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="snapshots")
    as_of = models.DateField()
    computed_at = models.DateTimeField(default=timezone.now)
    run = models.ForeignKey(
        RefreshRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="snapshots"
    )
    latest_value = models.FloatField(null=True, blank=True)
    latest_at = models.DateTimeField(null=True, blank=True)
    baseline = models.FloatField(null=True, blank=True)
    change_abs = models.FloatField(null=True, blank=True)
    change_pct = models.FloatField(null=True, blank=True)
    progress = models.FloatField(null=True, blank=True)
    trend_per_day = models.FloatField(null=True, blank=True)
    move_30 = models.FloatField(null=True, blank=True)
    move_60 = models.FloatField(null=True, blank=True)
    move_90 = models.FloatField(null=True, blank=True)
    realised_value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    guardrail_breached = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NO_DATA)
    rolled_up_status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.NO_DATA
    )

    class Meta:
        ordering = ["kpi_id", "-as_of"]
        constraints = [
            models.UniqueConstraint(fields=["kpi", "as_of"], name="snapshot_one_per_kpi_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.kpi_id} as of {self.as_of}: {self.status}"


class CheckIn(models.Model):
    """The KPI owner's weekly judgement (which may differ from the computed status)."""

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="check_ins")
    week = models.DateField(help_text="The Monday of the week checked in for.")
    confidence = models.CharField(max_length=10, choices=Confidence.choices)
    analysis = models.TextField(max_length=2000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["kpi", "week"], name="checkin_one_per_kpi_per_week")
        ]

    def __str__(self) -> str:
        return f"{self.kpi} week of {self.week}: {self.confidence}"

    def clean(self) -> None:
        if self.week and self.week.weekday() != 0:
            raise ValidationError({"week": "A check-in week starts on a Monday."})


class Annotation(models.Model):
    """A dated marker (point or range) on KPI charts: a release, incident, pause or note.

    Scoped to one KPI, one use case, or (both empty) the whole portfolio.
    """

    kind = models.CharField(max_length=10, choices=AnnotationKind.choices)
    text = models.CharField(max_length=300)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    use_case = models.ForeignKey(
        UseCase, null=True, blank=True, on_delete=models.CASCADE, related_name="annotations"
    )
    kpi = models.ForeignKey(
        KPI, null=True, blank=True, on_delete=models.CASCADE, related_name="annotations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text}"

    def clean(self) -> None:
        if self.ends_at and self.starts_at and self.ends_at < self.starts_at:
            raise ValidationError({"ends_at": "An annotation cannot end before it starts."})
        if self.kpi_id and self.use_case_id and self.kpi.use_case_id != self.use_case_id:
            raise ValidationError({"kpi": "This KPI belongs to another use case."})


class Alert(models.Model):
    """A slip: a KPI off track or past its guardrail. Pending until it has stayed bad for
    ``kpi.alert_after_snapshots`` consecutive snapshots, then firing; resolved when it recovers.
    """

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="alerts")
    reason = models.CharField(max_length=10, choices=AlertReason.choices)
    state = models.CharField(max_length=10, choices=AlertState.choices, default=AlertState.PENDING)
    consecutive = models.PositiveSmallIntegerField(default=1)
    last_as_of = models.DateField()
    started_at = models.DateTimeField(default=timezone.now)
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # At most one open (pending or firing) alert per KPI and reason.
            models.UniqueConstraint(
                fields=["kpi", "reason"],
                condition=~models.Q(state="resolved"),
                name="alert_one_open_per_kpi_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kpi}: {self.get_reason_display()} ({self.state})"


class ReviewDigest(models.Model):
    """A weekly review email that was sent, so the beat job sends each week once."""

    week = models.DateField(unique=True)
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Weekly review {self.week}"
