"""Time opsai's pages, export and import on a generated inventory of 10,000 use cases.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/opsai_bench DEBUG=false \\
        .venv/bin/python scripts/inventory_bench.py [--use-cases 10000] [--repeat 15] [--keep]

``make bench`` runs it after the KPI bench. It generates (replacing any earlier run's
rows, which are all named "Bench inventory …"):

- a three-level unit tree under one root: 6 departments, 30 divisions, 120 teams
  (``Team(parent=…)``, so ``path``/``path_label`` are kept by ``Team.save``);
- N submitted use cases over the 120 teams, in every stage, with value buckets,
  volumes, risk attributes and two custom fields (a choice and a number, values in
  ``UseCase.custom``); 70% scored by three scorers (bulk insert, as the scoring service
  stores sheets); every one placed in its governance lane by the policy in force
  (``governance.selectors.lane_decide``, the rule the lane service applies, bulk-inserted);
  one open review per 50 use cases in review.

Then prints, in the same run: the median server time and HTML size of the portfolio
(first page, a filtered page, a department's roll-up) and the governance page — the
Django test client in-process, so server time without a network (``DEBUG=false``) —
with each page's query count; the CSV export of every use case (time and size); and
the onboarding of an N-row inventory file (``scripts/inventory.py``) through the
background job (:func:`bench_import`).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsai.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from governance.choices import ReviewStatus  # noqa: E402
from governance.models import LaneAssignment, Review  # noqa: E402
from governance.selectors import lane_decide  # noqa: E402
from governance.services import lane_policy_ensure_default  # noqa: E402
from opsai.roles import Role, role_group  # noqa: E402
from usecases.choices import (  # noqa: E402
    Audience,
    Autonomy,
    CustomFieldKind,
    DataSensitivity,
    RiskClass,
    Stage,
    ValueBucket,
)
from usecases.models import CustomField, Score, Team, UseCase  # noqa: E402
from usecases.selectors import scoring_model_current  # noqa: E402
from usecases.services import score_figures_refresh  # noqa: E402

ROOT_NAME = "Bench inventory"
PREFIX = "Bench inventory case"
STAGES = [Stage.IDEA, Stage.SCORING, Stage.SCORING, Stage.REVIEW, Stage.APPROVED,
          Stage.PILOT, Stage.PRODUCTION, Stage.PRODUCTION, Stage.RETIRED, Stage.REJECTED]  # fmt: skip
CRITERIA = ["value", "feasibility", "data_readiness", "integration_complexity", "change_pain"]
TARGET_MS, TARGET_KB, TARGET_IMPORT_S = 150, 300, 30


def unit_tree() -> tuple[Team, list[Team], list[Team]]:
    """1 root → 6 departments → 30 divisions → 120 teams: (root, departments, teams)."""
    root = Team.objects.create(name=ROOT_NAME)
    departments, teams = [], []
    for d in range(6):
        department = Team.objects.create(name=f"Department {d + 1}", parent=root)
        departments.append(department)
        for v in range(5):
            division = Team.objects.create(name=f"Division {d + 1}.{v + 1}", parent=department)
            for t in range(4):
                teams.append(
                    Team.objects.create(
                        name=f"Team {d + 1}.{v + 1}.{t + 1}",
                        parent=division,
                        hourly_cost=Decimal(40 + (d * 7 + v * 3 + t) % 30),
                    )
                )
    return root, departments, teams


def clear() -> None:
    """Remove an earlier run's rows (use cases first: units are protected by them)."""
    UseCase.objects.filter(title__startswith=PREFIX).delete()
    for depth in (3, 2, 1, 0):
        for unit in Team.objects.filter(path_label__startswith=ROOT_NAME):
            if unit.depth == depth:
                unit.delete()
    CustomField.objects.filter(key__startswith="bench_").delete()


def generate(count: int) -> tuple[list[Team], list[UseCase]]:
    """The tree, ``count`` use cases, their scores, lanes and some open reviews."""
    started = time.perf_counter()
    clear()
    _root, departments, teams = unit_tree()
    CustomField.objects.create(
        key="bench_tier", label="Tier", kind=CustomFieldKind.CHOICE, choices=["gold", "silver"]
    )
    CustomField.objects.create(key="bench_budget", label="Budget", kind=CustomFieldKind.NUMBER)
    now = timezone.now()
    buckets, risks = list(ValueBucket), list(RiskClass)
    use_cases = UseCase.objects.bulk_create(
        [
            UseCase(
                title=f"{PREFIX} {i:05d}",
                team=teams[i % len(teams)],
                problem="Invoices are matched by hand against purchase orders and receipts.",
                business_outcome="Reduce cost to serve by 10%",
                value_bucket=buckets[i % 4].value,
                systems_touched=["erp", "finance"][: 1 + i % 2],
                cases_per_week=50 + i % 900,
                minutes_per_case=5 + i % 25,
                expected_automation_share=Decimal("0.4"),
                rework_share=Decimal("0.2"),
                approvals_needed=i % 7,
                teams_touched=1 + i % 2,
                kpis_touched=1 + i % 3,
                rules_clarity=1 + i % 5,
                frequency="daily",
                data_sensitivity=list(DataSensitivity)[i % len(DataSensitivity)].value,
                audience=list(Audience)[i % len(Audience)].value,
                autonomy=list(Autonomy)[i % len(Autonomy)].value,
                money_movement=i % 9 == 0,
                vendor_model=i % 3 == 0,
                risk_class=risks[i % len(risks)].value,
                high_impact=i % 11 == 0,
                custom={"bench_tier": ["gold", "silver"][i % 2], "bench_budget": 1000 * (i % 50)},
                stage=STAGES[i % len(STAGES)],
                stage_entered_at=now - timedelta(days=i % 400),
                submitted_at=now - timedelta(days=i % 400),
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    scored = score(use_cases)
    lanes = place_in_lanes(use_cases)
    reviews = Review.objects.bulk_create(
        [
            Review(use_case=u, status=ReviewStatus.OPEN, opened_reason="Bench")
            for n, u in enumerate(use_cases)
            if u.stage == Stage.REVIEW and n % 50 == 3
        ]
    )
    # What autovacuum does within a minute of such a bulk load: statistics for the planner
    # and a visibility map (the bulk writes leave every page to be checked otherwise).
    with connection.cursor() as cursor:
        for table in ("usecases_usecase", "usecases_score", "usecases_score_figures", "usecases_team",
                      "governance_laneassignment", "governance_review"):  # fmt: skip
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"generated: {len(teams) + 37} units (1 + {len(departments)} + 30 + {len(teams)}), "
        f"{count:,} use cases, {scored:,} score sheets, {lanes:,} lane assignments, "
        f"{len(reviews)} open reviews in {time.perf_counter() - started:.1f} s"
    )
    return departments, use_cases


def score(use_cases: list[UseCase]) -> int:
    """Three scorers' sheets on 70% of ``use_cases`` (every 10th … 7 in 10)."""
    model = scoring_model_current()
    if model.pk is None:  # a fresh install scores under the defaults: save them as v1
        model.version = 1
        model.save()
    users = [
        get_user_model().objects.get_or_create(username=f"bench-scorer-{i}")[0] for i in range(3)
    ]
    sheets = []
    for n, use_case in enumerate(use_cases):
        if n % 10 >= 7:
            continue
        for k, user in enumerate(users):
            values = {key: 1 + (n * 7 + k + j * (n % 3)) % 5 for j, key in enumerate(CRITERIA)}
            sheets.append(
                Score(
                    use_case=use_case,
                    scorer=user,
                    scoring_model=model,
                    weighted_score=Decimal(3),
                    **values,
                    **{f"{key}_rationale": "bench" for key in values},
                )
            )
    Score.objects.bulk_create(sheets, batch_size=3000)
    score_figures_refresh(use_case_ids=[use_case.pk for use_case in use_cases])
    return len(sheets)


def place_in_lanes(use_cases: list[UseCase]) -> int:
    """Each use case's lane as the lane service decides it (``lane_decide``), bulk-inserted."""
    policy = lane_policy_ensure_default()
    rules = list(policy.rules.all())
    policy.rules.all = lambda: rules  # type: ignore[method-assign]  # decide without a query each
    now = timezone.now()
    rows = []
    for use_case in use_cases:
        lane, rule, reason = lane_decide(policy=policy, use_case=use_case)
        rows.append(
            LaneAssignment(
                use_case=use_case,
                lane=lane,
                rule=rule,
                policy=policy,
                reason=reason[:500],
                assigned_at=now,
            )
        )
    LaneAssignment.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def viewer() -> Any:
    """An executive: sees every submitted use case, scores included (no blind scoring)."""
    user, _ = get_user_model().objects.get_or_create(username="bench-executive")
    user.groups.add(role_group(Role.EXECUTIVE))
    return user


def time_page(client: Client, url: str, repeat: int) -> tuple[float, int, int]:
    """Median ms, body bytes and query count of ``GET url`` (after one untimed warm-up)."""
    client.get(url)
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        size = len(body)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(times), size, len(queries)


def bench_pages(departments: list[Team], repeat: int) -> Iterator[tuple[str, str, bool]]:
    """The pages' rows of the table as each is measured: (measure, result, within target)."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(viewer())
    department = departments[2]
    pages = [
        ("portfolio, first page", "/usecases/"),
        ("portfolio, filtered (stage, flag, sort), page 3",
         "/usecases/?stage=production&political_thriller=false&sort=-value&page=3"),
        (f"portfolio, a department's roll-up ({department.name})", f"/usecases/?team={department.pk}"),
        ("governance page", "/governance/"),
        ("executive dashboard with its Needs a decision strip", "/kpis/portfolio/"),
    ]  # fmt: skip
    # An admin's home: "Needs you" over every use case (scores to give, decisions).
    admin = Client(HTTP_HOST="localhost")
    admin_user, _ = get_user_model().objects.get_or_create(username="bench-admin")
    admin_user.groups.add(role_group(Role.ADMIN))
    admin.force_login(admin_user)
    visits = [(client, label, url) for label, url in pages]
    visits.append((admin, "an admin's home (Needs you, Needs a decision)", "/"))
    for visitor, label, url in visits:
        median, size, queries = time_page(visitor, url, repeat)
        ok = median <= TARGET_MS and size <= TARGET_KB * 1024
        yield label, f"{median:,.0f} ms / {size / 1024:,.0f} KB / {queries} queries", ok
    started = time.perf_counter()
    response = client.get("/usecases/?export=csv")
    body = b"".join(response.streaming_content)
    took = time.perf_counter() - started
    lines = len(list(csv.reader(io.StringIO(body.decode())))) - 1
    yield (f"CSV export, all {lines:,} rows (streamed)", f"{took * 1000:,.0f} ms / {len(body) / 1024:,.0f} KB", response.streaming)  # fmt: skip


IMPORT_SOURCE = "bench-inventory"


def _import_clear(units_before: set[int]) -> None:
    """Remove the bench import's use cases, then the units it created (deepest first)."""
    UseCase.objects.filter(source=IMPORT_SOURCE).delete()
    made = [u for u in Team.objects.exclude(pk__in=units_before) if not u.use_cases.exists()]
    for unit in sorted(made, key=lambda u: -u.depth):
        unit.delete()


def bench_import(rows: int) -> tuple[str, str, bool]:
    """Onboard a generated ``rows``-row inventory file through the background job's code.

    ``scripts/inventory.py`` writes a public register's export (foreign column names,
    three organisation levels, deployed and retired rows, risk flags) and onboards it as
    an admin would: upload, the proposed mapping with "create missing units", then the
    import run in this process exactly as the worker's task runs it
    (``usecases.onboarding_jobs.onboarding_run``), without a broker's hand-over. Timed
    from the upload to done; the job's own time is shown too. The imported rows and the
    units they created are removed again, so a ``--keep`` run measures the same pages.
    """
    import tempfile

    from scripts.inventory import generate_inventory, import_inventory

    user, _ = get_user_model().objects.get_or_create(username="bench-import")
    user.groups.add(role_group(Role.ADMIN))
    units_before = set(Team.objects.values_list("pk", flat=True))
    UseCase.objects.filter(source=IMPORT_SOURCE).delete()  # an interrupted run's rows
    with tempfile.TemporaryDirectory() as folder:
        path = generate_inventory(rows, Path(folder) / f"bench-{rows}.csv")
        size = path.stat().st_size
        started = time.perf_counter()
        outcome = import_inventory(path, actor=get_user_model().objects.get(pk=user.pk), source=IMPORT_SOURCE)  # fmt: skip
        took = time.perf_counter() - started
    _import_clear(units_before)
    result = (
        f"{took:,.1f} s, of which {outcome['seconds']:,.1f} s in the job ({outcome['state']}, "
        f"{outcome['created']:,} created, {outcome['refused']:,} refused, {size / 1024:,.0f} KB)"
    )
    ok = took <= TARGET_IMPORT_S and outcome["created"] + outcome["updated"] == rows
    return f"onboarding of a {rows:,}-row inventory CSV, background job", result, ok


def main() -> None:
    logging.getLogger("axes").setLevel(logging.WARNING)  # a sign-in line per client
    parser = argparse.ArgumentParser()
    parser.add_argument("--use-cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="reuse an earlier run's inventory")
    parser.add_argument("--skip-pages", action="store_true", help="time the import only")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Point DATABASE_URL at PostgreSQL: the bench measures production's database.")
    existing = UseCase.objects.filter(title__startswith=PREFIX).count()
    if args.keep and existing:
        departments = list(Team.objects.filter(path_label__startswith=ROOT_NAME, parent__parent__isnull=True, parent__isnull=False))  # fmt: skip
        print(f"reusing {existing:,} generated use cases")
    else:
        departments, _ = generate(args.use_cases)
    total = UseCase.objects.count()
    print(f"use cases in the database: {total:,}; pages timed with the Django test client "
          f"(in-process, DEBUG={os.environ.get('DEBUG', 'unset')}), median of {args.repeat}")  # fmt: skip
    print(
        f"targets: pages ≤ {TARGET_MS} ms median and ≤ {TARGET_KB} KB; import ≤ {TARGET_IMPORT_S} s\n"
    )
    print("| measure | median server time / HTML size / queries | target met |")
    print("| --- | --- | --- |", flush=True)
    for label, result, ok in [] if args.skip_pages else bench_pages(departments, args.repeat):
        print(f"| {label} | {result} | {'yes' if ok else '**no**'} |", flush=True)
    if args.import_rows:
        label, result, ok = bench_import(args.import_rows)
        print(f"| {label} | {result} | {'yes' if ok else '**no**'} |", flush=True)


if __name__ == "__main__":
    main()
