"""Demo KPI data: the template stacks of the five demo use cases, ~180 days of daily
measurements with the business KPI moving after a go-live 90 days ago, release and
incident markers, a check-in, and snapshot history. Safe to run twice.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from kpis.choices import AnnotationKind, BatchSource, BatchStatus, Confidence, Direction, TargetType
from kpis.models import KPI, Annotation, IngestBatch, Measurement
from kpis.services import annotation_create, checkin_record, kpi_stack_create_from_template
from kpis.snapshots import snapshots_refresh
from usecases.models import UseCase

DAYS = 180
GO_LIVE_DAYS_AGO = 90
# Business KPIs: baseline level, level the AI worker moves it to, money per unit per year.
BUSINESS = {
    "Cost to serve per ticket": (4.20, 3.55, Decimal("208000")),
    "Quote-to-cash cycle time": (38.0, 33.0, Decimal("15000")),
    "Cash collected": (42000.0, 47500.0, Decimal("20")),
    "Time to first interview": (21.0, 16.0, Decimal("8000")),
    # Marketing's pilot has not moved its business KPI: the portfolio's pilot purgatory.
    "Content cost per asset": (320.0, 319.0, Decimal("7800")),
}
# Marketing promised a 15% cheaper asset; its pilot has not delivered it.
TARGETS = {"Content cost per asset": 272.0}
UNIT_LEVELS = {
    "%": (68.0, 12.0),
    "minutes": (12.0, -2.5),
    "days": (30.0, -4.0),
    "hours": (6.0, -1.5),
    "GBP": (1500.0, -200.0),
}
# Recruiting stopped sending data three weeks ago: its stack shows "no data".
STALE_USE_CASE = "recruiting_screening"


def _level(kpi: KPI) -> tuple[float, float]:
    if kpi.name in BUSINESS:
        before, after, _ = BUSINESS[kpi.name]
        return before, after
    base, delta = UNIT_LEVELS.get(kpi.unit, (100.0, 10.0))
    delta = abs(delta) if kpi.direction == Direction.UP else -abs(delta)
    return base, base + delta


def _value(rng: random.Random, before: float, after: float, day: int) -> float:
    """Baseline with noise before go-live, then a ramp over 60 days to the new level."""
    since_live = day - (DAYS - GO_LIVE_DAYS_AGO)
    ramp = 0.0 if since_live < 0 else min(since_live / 60, 1.0)
    level = before + (after - before) * ramp
    return round(level * (1 + rng.gauss(0, 0.015)), 3)


def load(users: dict[str, Any]) -> dict[str, int]:
    today = timezone.now().astimezone(UTC).date()
    go_live = today - timedelta(days=GO_LIVE_DAYS_AGO)
    with transaction.atomic():
        use_cases = list(UseCase.objects.exclude(template_key="").order_by("pk"))
        for use_case in use_cases:
            kpi_stack_create_from_template(use_case=use_case, actor=users.get("ops"))
        kpis = list(KPI.objects.filter(use_case__in=use_cases).select_related("use_case"))
        for kpi in kpis:
            _configure(kpi, go_live, users)
        written = _measurements(kpis, today, users)
        _markers(use_cases, go_live, users)
        for use_case in use_cases:
            business = next(
                (k for k in kpis if k.use_case_id == use_case.pk and k.name in BUSINESS), None
            )
            if business is not None and use_case.template_key != STALE_USE_CASE:
                checkin_record(
                    actor=users["ops"],
                    kpi=business,
                    confidence=Confidence.AT_RISK
                    if business.name == "Content cost per asset"
                    else Confidence.ON_TRACK,
                    analysis="Demo check-in: the owner's view beside the computed status.",
                )
    # Snapshot history: weekly for 12 weeks, then today, so trend lines and slips have a past.
    for weeks_ago in range(12, 0, -1):
        snapshots_refresh(as_of=today - timedelta(weeks=weeks_ago))
    run = snapshots_refresh(as_of=today)
    return {"kpis": len(kpis), "measurements_written": written, "snapshots": run.kpis_refreshed}


def _configure(kpi: KPI, go_live: date, users: dict[str, Any]) -> None:
    before, after = _level(kpi)
    kpi.owner = kpi.owner or users["ops"]
    kpi.baseline_start = go_live - timedelta(days=60)
    kpi.baseline_end = go_live - timedelta(days=1)
    kpi.target_type = (
        TargetType.INCREASE_TO if kpi.direction == Direction.UP else TargetType.DECREASE_TO
    )
    # Targets ask for a little more than the worker delivers, reached 150 days after go-live.
    kpi.target_value = TARGETS.get(kpi.name, round(before + (after - before) * 1.1, 2))
    kpi.target_date = go_live + timedelta(days=150)
    kpi.cadence = "daily"
    kpi.source = "api"
    if kpi.name in BUSINESS:
        kpi.value_per_unit = BUSINESS[kpi.name][2]
    kpi.full_clean()
    kpi.save()


def _measurements(kpis: list[KPI], today: date, users: dict[str, Any]) -> int:
    batch, _ = IngestBatch.objects.get_or_create(
        filename="demo data",
        source=BatchSource.API,
        defaults={
            "created_by": users.get("ops"),
            "status": BatchStatus.SAVED,
            "finished_at": timezone.now(),
        },
    )
    rows = []
    for kpi in kpis:
        rng = random.Random(f"{kpi.use_case.template_key}:{kpi.name}")  # noqa: S311 - demo noise
        before, after = _level(kpi)
        last_day = DAYS - (21 if kpi.use_case.template_key == STALE_USE_CASE else 0)
        for day in range(DAYS):
            stamp = datetime.combine(today - timedelta(days=DAYS - 1 - day), time.min, tzinfo=UTC)
            value = _value(rng, before, after, day)
            if day < last_day:
                rows.append(
                    Measurement(
                        kpi=kpi, timestamp=stamp, value=value, source=BatchSource.API, batch=batch
                    )
                )
    Measurement.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["kpi", "timestamp"],
        update_fields=["value", "source", "batch"],
    )
    batch.rows_total = batch.rows_processed = batch.rows_accepted = len(rows)
    batch.save()
    audit_record(actor=users.get("ops"), action="kpi.measurements_ingested", target=batch,
                 after={"source": "demo", "rows_accepted": len(rows)})  # fmt: skip
    return len(rows)


def _markers(use_cases: list[UseCase], go_live: date, users: dict[str, Any]) -> None:
    live = datetime.combine(go_live, time(9), tzinfo=UTC)
    for use_case in use_cases:
        if not Annotation.objects.filter(use_case=use_case, kind=AnnotationKind.RELEASE).exists():
            annotation_create(actor=users["ops"], kind=AnnotationKind.RELEASE,
                              text="AI worker v1 goes live", starts_at=live, use_case=use_case)  # fmt: skip
    support = next((u for u in use_cases if u.template_key == "support_triage"), None)
    if (
        support
        and not Annotation.objects.filter(use_case=support, kind=AnnotationKind.INCIDENT).exists()
    ):
        start = live + timedelta(days=35)
        annotation_create(actor=users["ops"], kind=AnnotationKind.INCIDENT,
                          text="Misrouting spike; worker paused and rolled back",
                          starts_at=start, ends_at=start + timedelta(days=2), use_case=support)  # fmt: skip


def counts() -> list[tuple[int, str, str]]:
    """What the demo left, for ``load_demo``'s summary line: (how many, one, many)."""
    return [(KPI.objects.count(), "KPI", "KPIs")]
