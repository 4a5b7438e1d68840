"""``make load``: mixed page and API reads at a steady rate against gunicorn on a large portfolio.

Generates the benchmark portfolio (``kpi_generate``) in its own database, serves it with
gunicorn (two workers, DEBUG off), signs in as ops, exec and admin, then sends reads at
``--rate`` requests per second for ``--seconds`` and prints count, p50, p95, max and
errors per route. Exits non-zero if any route's p95 is over ``--p95-ms`` or any request
failed.

    python scripts/load.py [--use-cases 1000] [--days 365] [--rate 10] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ownservices import (
    ROOT,
    WebSession,
    base_env,
    free_port,
    gunicorn,
    manage,
    stop_process,
)

PASSWORD = "opsai-demo"  # noqa: S105 - the demo users' published password


@dataclass
class Route:
    """One kind of read: who sends it and the path (``{uc}``, ``{kpi}`` filled per request)."""

    name: str
    user: str
    path: str
    weight: int = 1
    timings: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def routes() -> list[Route]:
    return [
        Route("page  /kpis/portfolio/", "exec", "/kpis/portfolio/", 3),
        Route("page  /usecases/", "ops", "/usecases/", 2),
        Route("page  /usecases/<id>/", "ops", "/usecases/{uc}/", 2),
        Route("page  /kpis/usecases/<id>/", "exec", "/kpis/usecases/{uc}/", 2),
        Route("page  /kpis/<id>/", "ops", "/kpis/{kpi}/", 2),
        Route("page  /governance/", "admin", "/governance/", 1),
        Route("page  /", "ops", "/", 1),
        Route("api   /api/usecases/", "ops", "/api/usecases/", 2),
        Route("api   /api/kpis/", "exec", "/api/kpis/?use_case={uc}", 1),
        Route("api   /api/snapshots/", "exec", "/api/snapshots/?kpi={kpi}", 2),
        Route("api   /api/measurements/", "ops", "/api/measurements/?kpi={kpi}", 2),
    ]


def ids(env: dict[str, str]) -> tuple[list[int], list[int]]:
    """Ids of the generated use cases and their KPIs, to spread reads over the portfolio."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    code = (
        "import json; from kpis.models import KPI; "
        "rows = list(KPI.objects.filter(use_case__title__startswith='Bench use case')"
        ".values_list('use_case_id', 'pk')[:4000]); "
        f"open({str(out)!r}, 'w').write(json.dumps(rows))"
    )
    manage(env, "shell", "-c", code)
    rows = json.loads(out.read_text())
    out.unlink()
    if not rows:
        sys.exit("load: no generated use cases — did kpi_generate run?")
    return sorted({uc for uc, _ in rows}), [kpi for _, kpi in rows]


def prepare(env: dict[str, str], use_cases: int, days: int, *, regenerate: bool) -> None:
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_demo")
    have = Path(tempfile.mkstemp()[1])
    manage(
        env, "shell", "-c",
        "from usecases.models import UseCase; "
        f"open({str(have)!r}, 'w').write(str(UseCase.objects.filter(title__startswith='Bench use case').count()))",
    )  # fmt: skip
    existing = int(have.read_text() or 0)
    have.unlink()
    if regenerate or existing != use_cases:
        manage(env, "kpi_generate", "--use-cases", str(use_cases), "--days", str(days))
    # Dashboards read stored snapshots: compute them once, as the hourly refresh would.
    manage(env, "shell", "-c", "from kpis.snapshots import snapshots_refresh; snapshots_refresh()")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def drive(
    base_url: str,
    table: list[Route],
    uc_ids: list[int],
    kpi_ids: list[int],
    rate: float,
    seconds: float,
) -> float:
    """Send requests at ``rate`` per second for ``seconds``; answer the achieved rate."""
    users = sorted({route.user for route in table})
    schedule = [route for route in table for _ in range(route.weight)]
    lock = threading.Lock()
    local = threading.local()

    def session_for(user: str) -> WebSession:
        # One session per thread and user: a cookie jar is not shared across threads.
        mine = getattr(local, "sessions", None)
        if mine is None:
            mine = local.sessions = {}
        if user not in mine:
            mine[user] = WebSession(base_url)
            mine[user].sign_in(user, PASSWORD)
        return mine[user]

    def one(index: int) -> None:
        route = schedule[index % len(schedule)]
        path = route.path.format(
            uc=uc_ids[index * 7 % len(uc_ids)], kpi=kpi_ids[index * 13 % len(kpi_ids)]
        )
        status, elapsed, _ = session_for(route.user).request("GET", path)
        with lock:
            route.timings.append(elapsed)
            if status != 200:
                route.errors.append(f"{path} → {status or 'no answer'}")

    # Sign every thread's sessions in before the clock starts.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: [session_for(u) for u in users], range(8)))
        total = int(rate * seconds)
        started = time.monotonic()
        futures = []
        for index in range(total):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, index))
        for future in futures:
            future.result()
    return total / (time.monotonic() - started)


def report(table: list[Route], p95_limit_ms: float) -> bool:
    print(f"\n{'route':<30} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>7}")
    ok = True
    every: list[float] = []
    for route in table:
        every += route.timings
        p50, p95, worst = (
            statistics.median(route.timings) * 1000,
            percentile(route.timings, 0.95) * 1000,
            max(route.timings) * 1000,
        )
        flag = "" if p95 <= p95_limit_ms and not route.errors else "  <-- over the limit or failed"
        ok = ok and not flag
        print(
            f"{route.name:<30} {len(route.timings):>6} {p50:>8.0f} {p95:>8.0f} {worst:>8.0f} {len(route.errors):>7}{flag}"
        )
    errors = sum(len(route.errors) for route in table)
    p95_all = percentile(every, 0.95) * 1000
    print(
        f"{'all':<30} {len(every):>6} {statistics.median(every) * 1000:>8.0f} {p95_all:>8.0f} "
        f"{max(every) * 1000:>8.0f} {errors:>7}"
    )
    for route in table:
        for error in route.errors[:3]:
            print(f"  error: {error}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/opsai_load"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--use-cases", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--p95-ms", type=float, default=300)
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        help="leave out the route with this path (repeatable)",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="generate the portfolio even if it exists"
    )
    args = parser.parse_args()

    run_id = f"opsai-load-{uuid.uuid4().hex[:8]}"
    var_dir = ROOT / "var" / "load"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = base_env(args.database_url, args.redis_url, run_id, var_dir)
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ensure-database.py")], env=env, check=True
    )
    print(
        f"load: preparing {args.use_cases:,} use cases × 4 KPIs × {args.days} days in {args.database_url}"
    )
    prepare(env, args.use_cases, args.days, regenerate=args.regenerate)
    uc_ids, kpi_ids = ids(env)
    port = free_port()
    server = gunicorn(env, port, var_dir / "gunicorn.log", workers=2)
    try:
        table = [r for r in routes() if r.path not in args.exclude]
        base_url = f"http://127.0.0.1:{port}"
        # Warm each route once (imports, first connections) before measuring.
        warm = WebSession(base_url)
        warm.sign_in("admin", PASSWORD)
        for route in table:
            warm.request("GET", route.path.format(uc=uc_ids[0], kpi=kpi_ids[0]))
        print(
            f"load: {args.rate:g} requests/s for {args.seconds:g} s against gunicorn (2 workers, DEBUG off)"
        )
        achieved = drive(base_url, table, uc_ids, kpi_ids, args.rate, args.seconds)
        print(f"load: achieved {achieved:.1f} requests/s")
        ok = report(table, args.p95_ms)
    finally:
        stop_process(server)
    print(
        f"\nload: {'PASS' if ok else 'FAIL'} (every route p95 ≤ {args.p95_ms:g} ms and no errors)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
