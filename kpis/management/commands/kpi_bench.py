"""Benchmark the KPI stack on the current (PostgreSQL) database and print a table.

Measures, in one run on the same data: the full snapshot refresh against the
hand-written SQL aggregate it is built on (and a naive single-pass SQL), an
incremental refresh of 10 KPIs, bulk ingest through the API (CSV and JSON, COPY
underneath), and the median server time and query count of the dashboards.
Run ``kpi_generate`` first (``make bench`` does both).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from kpis.models import KPI, Measurement
from kpis.snapshots import FIGURES_SQL, _bounds, snapshots_refresh
from opsai.roles import Role, role_group

# One pass over all history with no index help: what a first attempt in SQL looks like.
NAIVE_SQL = """
SELECT m.kpi_id,
    max(m.timestamp),
    (array_agg(m.value ORDER BY m.timestamp DESC))[1],
    avg(m.value) FILTER (WHERE m.timestamp >= k.baseline_start AND m.timestamp < k.baseline_end + 1),
    regr_slope(m.value, extract(epoch FROM m.timestamp) / 86400.0) FILTER (WHERE m.timestamp >= %(t90)s),
    (array_agg(m.value ORDER BY m.timestamp DESC) FILTER (WHERE m.timestamp < %(t30)s))[1],
    (array_agg(m.value ORDER BY m.timestamp DESC) FILTER (WHERE m.timestamp < %(t60)s))[1],
    (array_agg(m.value ORDER BY m.timestamp DESC) FILTER (WHERE m.timestamp < %(t90)s))[1]
FROM kpis_measurement m JOIN kpis_kpi k ON k.id = m.kpi_id
WHERE m.timestamp < %(end)s
GROUP BY m.kpi_id
"""


def timed(action: Callable[[], Any], repeat: int = 1) -> float:
    """Median wall time of ``action`` in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Command(BaseCommand):
    help = "Benchmark snapshot refresh, ingest and dashboards; prints a table."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--generate", action="store_true", help="Run kpi_generate first.")
        parser.add_argument("--use-cases", type=int, default=1000)
        parser.add_argument("--days", type=int, default=730)
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--ingest-rows", type=int, default=100_000)
        parser.add_argument("--requests", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark runs on PostgreSQL: set DATABASE_URL.")
        if options["generate"]:
            call_command("kpi_generate", use_cases=options["use_cases"], days=options["days"])
        repeat = options["repeat"]
        kpi_ids = list(KPI.objects.order_by("pk").values_list("pk", flat=True))
        if not kpi_ids:
            raise CommandError("No KPIs: run `manage.py kpi_generate` first.")
        rows: list[tuple[str, str, str, str]] = []
        n_measurements = Measurement.objects.count()
        n_use_cases = KPI.objects.values("use_case").distinct().count()
        self.stdout.write(
            f"Data: {n_use_cases:,} use cases, {len(kpi_ids):,} KPIs, {n_measurements:,} measurements"
        )
        as_of = timezone.now().astimezone(UTC).date()
        params = {"ids": kpi_ids, **_bounds(as_of)}

        def run_sql(sql: str) -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()

        snapshots_refresh(as_of=as_of)  # warm caches the same way for both sides
        sql_time = timed(lambda: run_sql(FIGURES_SQL), repeat)
        full_time = timed(lambda: snapshots_refresh(as_of=as_of), repeat)
        naive_time = timed(lambda: run_sql(NAIVE_SQL), 1)
        ratio = full_time / sql_time
        rows.append(("Full snapshot refresh (all KPIs, stored)", f"{full_time:.2f} s", "", ""))
        rows.append(
            ("Hand-written SQL aggregate alone (same figures)", f"{sql_time:.2f} s", "", "")
        )
        rows.append(("  refresh / SQL", f"{ratio:.2f}x", "≤ 1.5x", "yes" if ratio <= 1.5 else "NO"))
        rows.append(("Naive single-pass SQL over all history", f"{naive_time:.2f} s", "", ""))

        ten = list(
            KPI.objects.values("use_case_id")
            .annotate(first=Count("pk"))
            .values_list("use_case_id", flat=True)[:10]
        )
        touched = list(
            KPI.objects.filter(use_case_id__in=ten, level="business").values_list("pk", flat=True)
        )[:10]
        incremental = timed(lambda: snapshots_refresh(kpi_ids=touched, as_of=as_of), repeat)
        rows.append(
            (
                f"Incremental refresh of {len(touched)} KPIs (their stacks)",
                f"{incremental * 1000:.0f} ms",
                "< 1 s",
                "yes" if incremental < 1 else "NO",
            )
        )

        rows.extend(self._dashboards(options["requests"]))
        rows.extend(self._ingest(kpi_ids, options["ingest_rows"]))
        self._print(rows)

    def _user(self) -> Any:
        user, _ = get_user_model().objects.get_or_create(
            username="bench", defaults={"email": "bench@example.com"}
        )
        user.groups.add(role_group(Role.OPS_LEAD), role_group(Role.EXECUTIVE))
        return user

    def _dashboards(self, requests: int) -> list[tuple[str, str, str, str]]:
        client = Client(HTTP_HOST="localhost")
        client.force_login(self._user())
        use_case_id = (
            KPI.objects.filter(level="business")
            .order_by("pk")
            .values_list("use_case_id", flat=True)[0]
        )
        rows = []
        for label, url in (
            ("Portfolio dashboard", reverse("kpis:portfolio")),
            ("Use-case dashboard", reverse("kpis:usecase", args=[use_case_id])),
        ):
            client.get(url)  # warm up
            times = []
            for _ in range(requests):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise CommandError(f"{url} answered {response.status_code}")
            median = statistics.median(times) * 1000
            rows.append((f"{label}: median server time", f"{median:.0f} ms", "< 200 ms",
                         "yes" if median < 200 else "NO"))  # fmt: skip
            rows.append((f"{label}: queries", str(len(queries)), "fixed", "yes"))
        return rows

    def _ingest(self, kpi_ids: list[int], n_rows: int) -> list[tuple[str, str, str, str]]:
        api = APIClient(HTTP_HOST="localhost")
        api.force_authenticate(self._user())
        # New values at noon on past days, spread over every KPI (upserts if they exist).
        base = datetime.combine(timezone.now().date(), datetime.min.time(), tzinfo=UTC) - timedelta(
            hours=12
        )
        records = [
            (
                kpi_ids[i % len(kpi_ids)],
                (base - timedelta(days=i // len(kpi_ids))).isoformat(),
                100.0 + i % 17,
            )
            for i in range(n_rows)
        ]
        csv_body = "kpi,timestamp,value\n" + "\n".join(f"{k},{t},{v}" for k, t, v in records)
        json_body = json.dumps([{"kpi": k, "timestamp": t, "value": v} for k, t, v in records])
        results = []
        for label, body, content_type in (
            ("CSV", csv_body, "text/csv"),
            ("JSON", json_body, "application/json"),
        ):
            started = time.perf_counter()
            response = api.generic("POST", "/api/measurements/", body, content_type=content_type)
            elapsed = time.perf_counter() - started
            if response.status_code != 201:
                raise CommandError(
                    f"ingest failed: {response.status_code} {str(response.data)[:500]}"
                )
            rate = n_rows / elapsed
            results.append((f"Bulk API ingest, {label} ({n_rows:,} rows, one request)", f"{rate:,.0f} rows/s",
                            "≥ 20,000/s", "yes" if rate >= 20_000 else "NO"))  # fmt: skip
        return results

    def _print(self, rows: list[tuple[str, str, str, str]]) -> None:
        widths = [
            max(len(r[i]) for r in [("Measure", "Result", "Target", "Met"), *rows])
            for i in range(4)
        ]
        line = "+".join("-" * (w + 2) for w in widths)
        self.stdout.write(line)
        for index, row in enumerate([("Measure", "Result", "Target", "Met"), *rows]):
            self.stdout.write("|".join(f" {cell:<{widths[i]}} " for i, cell in enumerate(row)))
            if index == 0:
                self.stdout.write(line)
        self.stdout.write(line)
