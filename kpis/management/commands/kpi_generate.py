"""Generate a large synthetic portfolio for the benchmark: use cases × KPIs × days of values.

Default: 1,000 use cases, 4 KPIs each (business → operational → leading → model),
730 days of daily measurements = 2.92M rows, written with PostgreSQL COPY.
"""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from kpis.models import KPI
from usecases.choices import Stage, ValueBucket
from usecases.demo import demo_units
from usecases.models import UseCase

PREFIX = "Bench use case"
LEVELS = [("business", "GBP", "down"), ("operational", "minutes", "down"),
          ("leading", "%", "up"), ("model", "%", "up")]  # fmt: skip
STAGES = [
    Stage.PILOT,
    Stage.PRODUCTION,
    Stage.APPROVED,
    Stage.PILOT,
    Stage.PRODUCTION,
    Stage.SCORING,
]


class Command(BaseCommand):
    help = "Generate a synthetic portfolio (default 1,000 use cases × 4 KPIs × 730 days) for benchmarks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--use-cases", type=int, default=1000)
        parser.add_argument("--kpis", type=int, default=4, choices=[1, 2, 3, 4])
        parser.add_argument("--days", type=int, default=730)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, use_cases: int, kpis: int, days: int, seed: int, **_: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The generator writes with COPY: point DATABASE_URL at PostgreSQL.")
        started = time.perf_counter()
        rng = random.Random(seed)  # noqa: S311 - synthetic data
        with transaction.atomic():
            UseCase.objects.filter(title__startswith=PREFIX).delete()
            teams = list(demo_units(actor=None).values())
            now = timezone.now()
            created = UseCase.objects.bulk_create(
                [
                    UseCase(
                        title=f"{PREFIX} {i:05d}",
                        team=teams[i % len(teams)],
                        business_outcome="Reduce cost to serve by 10%",
                        value_bucket=list(ValueBucket)[i % 4].value,
                        cases_per_week=200 + i % 800,
                        minutes_per_case=5 + i % 20,
                        expected_automation_share="0.4",
                        stage=STAGES[i % len(STAGES)],
                        stage_entered_at=now - timedelta(days=30 + i % 200),
                        # Submitted, as a real portfolio is: drafts are private to their
                        # authors and would leave every page but the admin's empty.
                        submitted_at=now - timedelta(days=30 + i % 200),
                    )
                    for i in range(use_cases)
                ],
                batch_size=1000,
            )
            today = now.astimezone(UTC).date()
            go_live = today - timedelta(days=min(days // 2, 180))
            kpi_rows = self._create_stacks(created, kpis, go_live)
            rows = self._copy_measurements(kpi_rows, today, days, go_live, rng)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE kpis_measurement")
            cursor.execute("ANALYZE kpis_kpi")
        self.stdout.write(
            f"Generated {use_cases:,} use cases, {len(kpi_rows):,} KPIs, {rows:,} measurements "
            f"in {time.perf_counter() - started:.1f} s"
        )

    def _create_stacks(self, use_cases: list[UseCase], kpis: int, go_live: Any) -> list[KPI]:
        """``kpis`` KPIs per use case, each under the one of the level above it."""
        kpi_rows: list[KPI] = []
        for use_case in use_cases:
            for level, unit, direction in LEVELS[:kpis]:
                kpi_rows.append(
                    KPI(
                        use_case=use_case,
                        name=f"{level} KPI",
                        level=level,
                        unit=unit,
                        direction=direction,
                        cadence="daily",
                        source="api",
                        baseline_start=go_live - timedelta(days=60),
                        baseline_end=go_live - timedelta(days=1),
                        target_type="decrease_to" if direction == "down" else "increase_to",
                        target_value=90.0 if direction == "down" else 110.0,
                        target_date=go_live + timedelta(days=180),
                        value_per_unit=1000 if level == "business" else None,
                    )
                )
        KPI.objects.bulk_create(kpi_rows, batch_size=2000)
        by_use_case: dict[int, KPI] = {}
        for kpi in kpi_rows:  # chain the stack: each KPI under the previous level
            parent = by_use_case.get(kpi.use_case_id)
            if parent is not None:
                kpi.parent = parent
            by_use_case[kpi.use_case_id] = kpi
        KPI.objects.bulk_update([k for k in kpi_rows if k.parent_id], ["parent"], batch_size=2000)
        return kpi_rows

    def _copy_measurements(
        self, kpis: list[KPI], today: Any, days: int, go_live: Any, rng: random.Random
    ) -> int:
        start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
        stamps = [start + timedelta(days=d) for d in range(days)]
        live_index = (go_live - stamps[0].date()).days
        count = 0
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY kpis_measurement (kpi_id, timestamp, value, source) FROM STDIN"
            ) as copy,
        ):
            for kpi in kpis:
                sign = -1 if kpi.direction == "down" else 1
                lift = rng.uniform(-0.05, 0.15)
                for d, stamp in enumerate(stamps):
                    ramp = 0.0 if d < live_index else min((d - live_index) / 90, 1.0)
                    value = 100 * (1 + sign * lift * ramp) + 3 * math.sin(d / 7) + rng.gauss(0, 1)
                    copy.write_row((kpi.pk, stamp, round(value, 3), "api"))
                    count += 1
        return count
