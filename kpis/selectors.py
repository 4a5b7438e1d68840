"""Reads for KPIs: the portfolio, use-case and KPI dashboards and their plotly figures.

The figures are built in ``kpis.charts`` and handed over as JSON (``figure_json``).

Dashboards read stored snapshots, never raw history across the portfolio, and
each runs a fixed number of queries whatever the size of the portfolio.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Coalesce, NullIf
from django.utils import timezone

from kpis import charts
from kpis.choices import AlertReason, AlertState, Level, Status
from kpis.models import (
    KPI,
    Alert,
    Annotation,
    CheckIn,
    IngestBatch,
    Measurement,
    RefreshRun,
    Snapshot,
)
from opsai.charts import figure_json
from usecases import lifecycle
from usecases.choices import Stage, ValueBucket
from usecases.models import Team, UseCase
from usecases.selectors import (
    ESTIMATED_COST_PER_YEAR,
    usecase_value_estimate,
    usecase_visibility,
    usecase_visible_to,
)
from usecases.units import unit_breakdown, unit_subtree_q, unit_tree

# Snapshots older than this are flagged as stale on every dashboard.
STALE_AFTER = timedelta(hours=36)
PURGATORY_DAYS = lifecycle.PILOT_DECISION_DAYS
# A business KPI that moved less than this (% of baseline) has not moved.
NO_MOVEMENT_PCT = 2.0
SPARKLINE_DAYS = 180


# --- Who sees which KPI -------------------------------------------------------------------


def kpi_visible_to(queryset: QuerySet[Any], viewer: Any, *, via: str = "") -> QuerySet[Any]:
    """``queryset`` narrowed to the KPIs of use cases ``viewer`` may see.

    A draft use case is private to the people working on it, and so are its KPIs (the
    rule is ``usecases.selectors.usecase_visibility``); without a viewer (a job, an
    aggregate) only submitted use cases' KPIs. ``via`` reaches the KPI from a row that
    hangs off one (``"kpi__"`` for measurements, snapshots, check-ins, alerts).
    A WHERE clause, not a query.
    """
    return queryset.filter(usecase_visibility(viewer, through=f"{via}use_case__"))


def annotation_visible_to(queryset: QuerySet[Any], viewer: Any) -> QuerySet[Any]:
    """Chart markers minus those on a draft ``viewer`` may not see, or on its KPIs."""
    hidden = UseCase.objects.exclude(pk__in=usecase_visible_to(UseCase.objects.all(), viewer))
    return queryset.exclude(use_case__in=hidden).exclude(kpi__use_case__in=hidden)


# --- Freshness ---------------------------------------------------------------------------


def freshness() -> dict[str, Any]:
    """The last finished refresh ("as of") and whether it is stale. One query."""
    run = (
        RefreshRun.objects.filter(finished_at__isnull=False, error="")
        .order_by("-finished_at")
        .first()
    )
    now = timezone.now()
    return {
        "last_run": run,
        "as_of": run.finished_at if run else None,
        "stale": run is None or now - run.finished_at > STALE_AFTER,
    }


# --- Value --------------------------------------------------------------------------------


def _value_by_bucket(viewer: Any, unit: Team | None = None) -> dict[str, dict[str, float]]:
    """Realised (business-KPI movement × value per unit) and estimated value per bucket
    (of ``unit``'s subtree if given). Two queries."""
    realised = (
        kpi_visible_to(KPI.objects.all(), viewer)
        .filter(unit_subtree_q(unit, through="use_case__team__"))
        .filter(level=Level.BUSINESS, current_snapshot__realised_value__isnull=False)
        .exclude(use_case__stage=Stage.REJECTED)  # as the estimate below: rejected never counts
        .values("use_case__value_bucket")
        .annotate(total=Sum("current_snapshot__realised_value"))
    )
    estimated = (
        usecase_visible_to(UseCase.objects.all(), viewer)
        .filter(unit_subtree_q(unit))
        .exclude(stage=Stage.REJECTED)
        .values("value_bucket")
        .annotate(total=Sum(ESTIMATED_COST_PER_YEAR))
    )
    buckets = {bucket.value: {"realised": 0.0, "estimated": 0.0} for bucket in ValueBucket}
    for row in realised:
        if row["use_case__value_bucket"] in buckets:
            buckets[row["use_case__value_bucket"]]["realised"] = float(row["total"] or 0)
    for row in estimated:
        if row["value_bucket"] in buckets:
            buckets[row["value_bucket"]]["estimated"] = float(row["total"] or 0)
    return buckets


# --- Portfolio ----------------------------------------------------------------------------


def _business_kpis(viewer: Any) -> QuerySet[KPI]:
    return kpi_visible_to(KPI.objects.filter(level=Level.BUSINESS, parent__isnull=True), viewer)


def _good_move_pct() -> Any:
    """30-day movement as % of the value 30 days ago, signed so that positive is better."""
    previous = F("current_snapshot__latest_value") - F("current_snapshot__move_30")
    pct = ExpressionWrapper(
        F("current_snapshot__move_30") * Value(100.0) / NullIf(Abs(previous), Value(0.0)),
        output_field=FloatField(),
    )
    return Case(
        When(direction="down", then=pct * Value(-1.0)), default=pct, output_field=FloatField()
    )


def portfolio_dashboard(viewer: Any = None, *, unit: Team | None = None) -> dict[str, Any]:
    """Everything the executives' home shows, in a fixed number of queries.

    Over the use cases ``viewer`` may see: executives (and, without a viewer, jobs)
    count submitted use cases only, never someone's draft. With ``unit``, only those of
    that organisation unit and the units below it; ``status_by_unit`` counts the business
    KPIs' statuses of the unit and of each unit right below it.
    """
    in_unit = unit_subtree_q(unit, through="use_case__team__")
    business = (
        _business_kpis(viewer)
        .filter(in_unit)
        .exclude(use_case__stage__in=[Stage.REJECTED, Stage.RETIRED])
    )
    status_counts = business.aggregate(
        on_track=Count("pk", filter=Q(current_snapshot__rolled_up_status=Status.ON_TRACK)),
        at_risk=Count("pk", filter=Q(current_snapshot__rolled_up_status=Status.AT_RISK)),
        off_track=Count("pk", filter=Q(current_snapshot__rolled_up_status=Status.OFF_TRACK)),
        no_data=Count(
            "pk",
            filter=Q(current_snapshot__rolled_up_status=Status.NO_DATA)
            | Q(current_snapshot__isnull=True),
        ),
    )
    stages = dict(
        usecase_visible_to(UseCase.objects.all(), viewer)
        .filter(unit_subtree_q(unit))
        .values_list("stage")
        .annotate(n=Count("pk"))
        .order_by()
    )
    movers = (
        business.filter(current_snapshot__move_30__isnull=False)
        .annotate(good_move=_good_move_pct())
        .filter(good_move__isnull=False)
        .select_related("use_case", "current_snapshot")
    )
    up = list(movers.filter(good_move__gt=0).order_by("-good_move")[:5])
    down = list(movers.filter(good_move__lt=0).order_by("good_move")[:5])
    cutoff = timezone.now() - timedelta(days=PURGATORY_DAYS)
    purgatory = list(
        business.filter(use_case__stage=Stage.PILOT, use_case__stage_entered_at__lte=cutoff)
        .filter(
            Q(current_snapshot__isnull=True)
            | Q(current_snapshot__change_pct__isnull=True)
            | Q(
                current_snapshot__change_pct__lt=NO_MOVEMENT_PCT,
                current_snapshot__change_pct__gt=-NO_MOVEMENT_PCT,
            )
        )
        .select_related("use_case", "current_snapshot")
        .order_by("use_case__stage_entered_at")[:20]
    )
    firing = list(
        Alert.objects.filter(state=AlertState.FIRING)
        .filter(usecase_visibility(viewer, through="kpi__use_case__"))
        .filter(unit_subtree_q(unit, through="kpi__use_case__team__"))
        .exclude(kpi__in=KPI.objects.filter(VANITY))  # never shown alone to executives
        .select_related("kpi__use_case")
        .order_by("-fired_at")[:10]
    )
    buckets = _value_by_bucket(viewer, unit)
    units = unit_tree()  # the unit filter's choices and the per-unit table's tree
    return {
        "status_counts": status_counts,
        "stages": [(stage.label, stages.get(stage.value, 0)) for stage in Stage],
        "movers_up": up,
        "movers_down": down,
        "purgatory": purgatory,
        "purgatory_days": PURGATORY_DAYS,
        "firing_alerts": firing,
        "buckets": buckets,
        "realised_total": sum(b["realised"] for b in buckets.values()),
        "estimated_total": sum(b["estimated"] for b in buckets.values()),
        "value_figure": figure_json(charts.value_by_bucket_figure(buckets)),
        "stage_figure": figure_json(charts.stage_count_figure(stages)),
        "freshness": freshness(),
        "unit": unit,
        "unit_choices": [(u.pk, u.path_label) for u in units],
        "status_columns": Status.choices,
        "status_by_unit": unit_breakdown(
            business.annotate(
                status_key=Coalesce("current_snapshot__rolled_up_status", Value(Status.NO_DATA))
            ),
            unit_field="use_case__team_id",
            key_field="status_key",
            keys=tuple(Status.values),
            unit=unit,
            units=units,
        ),
    }


# --- The KPI stack ------------------------------------------------------------------------


@dataclass
class StackNode:
    """One KPI placed in its use case's tree, with what the dashboard shows beside it."""

    kpi: KPI
    depth: int
    vanity: bool
    snapshot: Snapshot | None
    check_in: CheckIn | None = None
    figure: dict[str, Any] | None = None  # None: no measurements to draw
    alerts: list[Alert] = field(default_factory=list)


def stack_order(kpis: Iterable[KPI]) -> list[tuple[KPI, int, bool]]:
    """Order KPIs as a tree (depth-first from the business KPI) with depth and vanity flag.

    A model metric with no business KPI above it is a vanity metric.
    """
    kpis = list(kpis)
    by_id = {kpi.pk: kpi for kpi in kpis}
    children: dict[int | None, list[KPI]] = {}
    for kpi in kpis:
        parent = kpi.parent_id if kpi.parent_id in by_id else None
        children.setdefault(parent, []).append(kpi)
    level_order = {level.value: index for index, level in enumerate(Level)}
    ordered: list[tuple[KPI, int, bool]] = []

    def visit(kpi: KPI, depth: int, under_business: bool, seen: frozenset[int]) -> None:
        has_business = under_business or kpi.level == Level.BUSINESS
        ordered.append((kpi, depth, kpi.level == Level.MODEL and not has_business))
        for child in sorted(children.get(kpi.pk, []), key=lambda k: (level_order[k.level], k.pk)):
            if child.pk not in seen:
                visit(child, depth + 1, has_business, seen | {child.pk})

    for root in sorted(children.get(None, []), key=lambda k: (level_order[k.level], k.pk)):
        visit(root, 0, False, frozenset({root.pk}))
    return ordered


def _annotations_for(
    use_case: UseCase | None, kpi_ids: list[int], since: datetime
) -> list[Annotation]:
    scope = Q(use_case__isnull=True, kpi__isnull=True)
    if use_case is not None:
        scope |= Q(use_case=use_case, kpi__isnull=True)
    if kpi_ids:
        scope |= Q(kpi_id__in=kpi_ids)
    return list(
        Annotation.objects.filter(scope)
        .filter(Q(starts_at__gte=since) | Q(ends_at__gte=since))
        .order_by("starts_at")
    )


def usecase_dashboard(use_case: UseCase, *, hide_vanity: bool) -> dict[str, Any]:
    """The use case's business outcome, its KPI stack as a tree with sparklines, and alerts.

    ``hide_vanity`` (executives) leaves vanity metrics out of the tree: a model
    metric is never shown alone on an executive page. Fixed query count.
    """
    kpis = list(
        KPI.objects.filter(use_case=use_case)
        .select_related("current_snapshot", "owner")
        .order_by("pk")
    )
    ordered = stack_order(kpis)
    ids = [kpi.pk for kpi in kpis]
    since = timezone.now() - timedelta(days=SPARKLINE_DAYS)
    points: dict[int, list[tuple[datetime, float]]] = {pk: [] for pk in ids}
    for kpi_id, ts, value in (
        Measurement.objects.filter(kpi_id__in=ids, timestamp__gte=since)
        .order_by("kpi_id", "timestamp")
        .values_list("kpi_id", "timestamp", "value")
    ):
        points[kpi_id].append((ts, value))
    annotations = _annotations_for(use_case, ids, since)
    check_ins = _latest_check_ins(ids)
    alerts: dict[int, list[Alert]] = {}
    for alert in Alert.objects.filter(kpi_id__in=ids).exclude(state="resolved"):
        alerts.setdefault(alert.kpi_id, []).append(alert)
    nodes = []
    vanity = []
    for kpi, depth, is_vanity in ordered:
        if is_vanity:
            vanity.append(kpi)
            if hide_vanity:
                continue
        own_notes = [a for a in annotations if a.kpi_id in (None, kpi.pk)]
        nodes.append(
            StackNode(
                kpi=kpi,
                depth=depth,
                vanity=is_vanity,
                snapshot=kpi.current_snapshot,
                check_in=check_ins.get(kpi.pk),
                figure=figure_json(
                    charts.series_figure(kpi, points[kpi.pk], own_notes, kpi.current_snapshot)
                ),
                alerts=alerts.get(kpi.pk, []),
            )
        )
    business = next((n for n in nodes if n.kpi.level == Level.BUSINESS and n.depth == 0), None)
    return {
        "use_case": use_case,
        "nodes": nodes,
        "business": business,
        # One sentence for the whole stack, not one per KPI, when none has a chart yet.
        "no_measurements": bool(nodes) and not any(node.figure for node in nodes),
        "vanity": vanity,
        "annotations": annotations,
        "estimated_value": usecase_value_estimate(use_case).cost_per_year,
        "freshness": freshness(),
    }


def _latest_check_ins(kpi_ids: list[int]) -> dict[int, CheckIn]:
    latest: dict[int, CheckIn] = {}
    for check_in in (
        CheckIn.objects.filter(kpi_id__in=kpi_ids)
        .select_related("author")
        .order_by("kpi_id", "-week")
    ):
        latest.setdefault(check_in.kpi_id, check_in)
    return latest


def kpi_detail(kpi: KPI) -> dict[str, Any]:
    """One KPI: its full series, baseline and target, snapshot history, batches, check-ins."""
    points = list(
        Measurement.objects.filter(kpi=kpi).order_by("timestamp").values_list("timestamp", "value")
    )
    since = points[0][0] if points else timezone.now() - timedelta(days=365)
    annotations = _annotations_for(kpi.use_case, [kpi.pk], since)
    snapshots = list(kpi.snapshots.order_by("-as_of")[:120])
    batch_ids = (
        Measurement.objects.filter(kpi=kpi, batch__isnull=False).values("batch_id").distinct()
    )
    batches = list(
        IngestBatch.objects.filter(pk__in=Subquery(batch_ids)).select_related("created_by")[:20]
    )
    figure = charts.series_figure(
        kpi, points, annotations, kpi.current_snapshot, height=360, compact=False
    )
    history = charts.snapshot_history_figure(snapshots[::-1])  # oldest first
    return {
        "kpi": kpi,
        "snapshot": kpi.current_snapshot,
        "figure": figure_json(figure),
        "history_figure": figure_json(history),
        "snapshots": snapshots[:20],
        "batches": batches,
        "check_ins": list(kpi.check_ins.select_related("author")[:10]),
        "alerts": list(kpi.alerts.all()[:10]),
        "annotations": annotations,
        "freshness": freshness(),
    }


# A model metric with no business KPI anywhere above it (stacks are at most a few levels deep).
_UNDER_BUSINESS = (
    Q(parent__level=Level.BUSINESS)
    | Q(parent__parent__level=Level.BUSINESS)
    | Q(parent__parent__parent__level=Level.BUSINESS)
    | Q(parent__parent__parent__parent__level=Level.BUSINESS)
)
VANITY = Q(level=Level.MODEL) & ~_UNDER_BUSINESS


def kpi_list(*, viewer: Any = None, hide_vanity: bool = False) -> QuerySet[KPI]:
    """Every KPI ``viewer`` may see with its use case and current snapshot, stack by stack,
    vanity metrics flagged.

    ``hide_vanity`` (executives) leaves vanity metrics out: never shown alone to them.
    """
    queryset = (
        kpi_visible_to(KPI.objects.all(), viewer)
        .select_related("use_case", "current_snapshot", "owner")
        .annotate(vanity=Case(When(VANITY, then=Value(True)), default=Value(False)))
    )
    if hide_vanity:
        queryset = queryset.exclude(VANITY)
    return queryset.order_by("use_case__title", "pk")


def batch_list(limit: int = 20) -> list[IngestBatch]:
    """The most recent ingest batches, newest first."""
    return list(IngestBatch.objects.select_related("created_by").defer("payload")[:limit])


def last_refresh_runs(limit: int = 5) -> list[RefreshRun]:
    """Recent refresh runs, for the data page."""
    return list(RefreshRun.objects.order_by("-started_at")[:limit])


# --- The business-KPI rule ---------------------------------------------------------------

BUSINESS_KPI_RULE = (
    "Every use case that leaves the idea stage has exactly one business KPI at the top of its stack"
)


def business_kpi_missing() -> Q:
    """The condition on ``UseCase``: no business KPI at the top of its stack (the
    obligation ``kpis.lifecycle`` registers). A NOT IN over one uncorrelated subquery,
    which PostgreSQL hashes once, so it also counts inside an aggregate's FILTER."""
    return ~Q(
        pk__in=KPI.objects.filter(level=Level.BUSINESS, parent__isnull=True).values("use_case_id")
    )


def business_kpi_count(use_case_id: int) -> int:
    """How many business KPIs sit at the top of the use case's stack (the rule wants one)."""
    return KPI.objects.filter(
        use_case_id=use_case_id, level=Level.BUSINESS, parent__isnull=True
    ).count()


# --- Alerts other apps act on -------------------------------------------------------------


def guardrail_alert_firing(alert_id: int) -> Alert | None:
    """The alert if it is a firing guardrail alert (with its KPI and use case), else ``None``."""
    return (
        Alert.objects.select_related("kpi__use_case")
        .filter(pk=alert_id, reason=AlertReason.GUARDRAIL, state=AlertState.FIRING)
        .first()
    )


def guardrail_alert_ids_firing() -> list[int]:
    """Ids of every firing guardrail alert, oldest first."""
    return list(
        Alert.objects.filter(reason=AlertReason.GUARDRAIL, state=AlertState.FIRING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
