"""``make faults``: break Redis, a worker and PostgreSQL during scripted saves; count what was lost.

Everything runs on instances of its own on free ports — a PostgreSQL cluster in a
temporary directory, a redis-server, gunicorn, a Celery worker and beat — so the shared
services are never touched. For each fault it makes a series of saves through the API
and the pages (measurements POSTed, use cases PATCHed, a measurement file uploaded),
waits for the background work to drain, then checks the database and prints:

- saves made: save requests sent (one answered 503 with Retry-After is sent again, as a
  client should, and counts once);
- saves lost: saves not in the database at the end, whatever they answered;
- jobs: outbox jobs recorded during the fault; runs: their executions seen in the database
  (finished refresh runs naming the fault's KPI, ingest audit events of its batches);
- jobs lost: outbox jobs of the fault not *done* at the end (and ingest batches not saved);
- jobs run twice: refresh runs or batch ingests beyond one per job;
- 5xx: answers of 500 or above other than 503, and requests that got no answer;
- 503: answers "unavailable, retry after" — right only while PostgreSQL is down (d); a
  save answered 503 is sent again after a second, as a client should;
- slowest save: the longest single save request.

    python scripts/faults.py [--recovery-wait 180]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ownservices import (
    ROOT,
    OwnPostgres,
    OwnRedis,
    WebSession,
    base_env,
    free_port,
    gunicorn,
    manage,
    start_process,
    stop_process,
    wait_for,
)

PASSWORD = "opsai-demo"  # noqa: S105 - the demo users' published password
SLOWEST_SAVE_LIMIT = 2.0
UPLOAD_ROWS = 12_000  # over the 10,000 rows that send an upload to the background
BIG_UPLOAD_ROWS = 120_000  # long enough to kill its worker half-way


@dataclass
class Save:
    """One save the drill made, and how to find it in the database afterwards."""

    kind: str
    status: int
    seconds: float
    retried_503: int = 0
    check: tuple[str, tuple[Any, ...]] | None = None  # SQL that returns 1 row when it was kept
    timed: bool = True  # False for the set-up of a fault (the big upload made before the kill)


@dataclass
class Fault:
    """One fault's saves and the outbox job ids recorded while it lasted."""

    name: str
    saves: list[Save] = field(default_factory=list)
    first_job: int = 0
    last_job: int = 0
    kpi: int = 0
    batches: list[int] = field(default_factory=list)
    reads_5xx: int = 0  # reads beside the saves answered 500 or above, 503 excepted
    reads_503: int = 0
    allows_503: bool = False  # the database is down during this fault: 503 is the right answer


class Drill:
    def __init__(self, work: Path, recovery_wait: float, *, verbose: bool = False) -> None:
        self.work = work
        self.verbose = verbose
        self.recovery_wait = recovery_wait
        self.postgres = OwnPostgres()
        self.redis = OwnRedis()
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.beat: subprocess.Popen[bytes] | None = None
        self.workers_started = 0
        self.env: dict[str, str] = {}
        self.database_url = ""
        self.session: WebSession | None = None
        self.use_cases: list[int] = []
        self.kpis: list[int] = []
        self.counter = 0

    # --- Set-up ---------------------------------------------------------------------

    def start(self) -> None:
        self.postgres.start()
        self.redis.start()
        self.database_url = self.postgres.create_database("opsai")
        run_id = f"opsai-faults-{uuid.uuid4().hex[:8]}"
        self.env = base_env(self.database_url, self.redis.url, run_id, self.work / "var")
        print(
            f"faults: PostgreSQL on :{self.postgres.port}, Redis on :{self.redis.port}, logs in {self.work}"
        )
        manage(self.env, "migrate", "--noinput", "-v0")
        manage(self.env, "load_demo")
        # A portfolio large enough that a full snapshot refresh takes a moment to kill.
        manage(self.env, "kpi_generate", "--use-cases", "300", "--days", "365")
        port = free_port()
        self.server = gunicorn(self.env, port, self.work / "gunicorn.log", workers=2)
        self.start_worker()
        self.beat = start_process(
            [str(ROOT / ".venv/bin/celery"), "-A", "opsai", "beat", "--loglevel=INFO",
             "-s", str(self.work / "beat-schedule")],
            self.env, self.work / "beat.log",
        )  # fmt: skip
        self.session = WebSession(f"http://127.0.0.1:{port}", timeout=60)
        self.session.sign_in("admin", PASSWORD)
        rows = self.sql(
            "SELECT k.use_case_id, k.id FROM kpis_kpi k JOIN usecases_usecase u ON u.id = k.use_case_id "
            "WHERE u.title LIKE 'Bench use case%%' AND k.level = 'business' ORDER BY k.id LIMIT 50"
        )
        self.use_cases = [row[0] for row in rows]
        self.kpis = [row[1] for row in rows]
        self.wait_for_backlog(60)

    def start_worker(self) -> None:
        self.workers_started += 1
        self.worker = start_process(
            [str(ROOT / ".venv/bin/celery"), "-A", "opsai", "worker", "--loglevel=INFO", "--concurrency=2",
             "--without-gossip", "--without-mingle", "-n", f"faults-{self.workers_started}@%h"],
            self.env, self.work / f"worker-{self.workers_started}.log",
        )  # fmt: skip

    def stop(self) -> None:
        for process in (self.beat, self.worker, self.server):
            stop_process(process)
        self.redis.cleanup()
        self.postgres.cleanup()

    # --- Database ----------------------------------------------------------------------

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, connect_timeout=5) as connection:
            return connection.execute(query, params).fetchall()

    def last_job_id(self) -> int:
        return self.sql("SELECT COALESCE(MAX(id), 0) FROM opsai_outboxjob")[0][0]

    def backlog(self, since: int = 0) -> int:
        rows = self.sql(
            "SELECT COUNT(*) FROM opsai_outboxjob WHERE state IN ('pending', 'sent') AND id >= %s",
            (since,),
        )
        return rows[0][0]

    def wait_for_backlog(self, seconds: float, *, since: int = 0) -> bool:
        """Wait until every job (from id ``since`` on) is done or failed; False if time ran out."""
        try:
            wait_for(
                lambda: self.backlog(since) == 0, what="the outbox", timeout=seconds, every=0.5
            )
        except TimeoutError:
            return False
        return True

    # --- Saves -------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> tuple[int, float, int]:
        status, slowest, retried = self._send_retrying(method, path, **kwargs)
        if self.verbose:
            print(
                f"  {method} {path} → {status} in {slowest:.2f} s ({retried} × 503 first)",
                flush=True,
            )
        return status, slowest, retried

    def _send_retrying(self, method: str, path: str, **kwargs: Any) -> tuple[int, float, int]:
        """Send a save; on 503 wait as Retry-After asks and send it again (up to 6 times)."""
        assert self.session is not None
        retried = 0
        slowest = 0.0
        for _ in range(6):
            status, seconds, _ = self.session.request(method, path, **kwargs)
            slowest = max(slowest, seconds)
            if status != 503:
                break
            retried += 1
            time.sleep(1)
        return status, slowest, retried

    def save_measurement(self, fault: Fault) -> None:
        self.counter += 1
        stamp = (datetime(2026, 1, 1, tzinfo=UTC) - timedelta(minutes=self.counter)).isoformat()
        value = 1000 + self.counter
        status, seconds, retried = self._send(
            "POST",
            "/api/measurements/",
            json_body=[{"kpi": fault.kpi, "timestamp": stamp, "value": value}],
        )
        check = ("SELECT 1 FROM kpis_measurement WHERE kpi_id = %s AND timestamp = %s AND value = %s",
                 (fault.kpi, stamp, value))  # fmt: skip
        fault.saves.append(Save("measurement", status, seconds, retried, check))

    def patch_use_case(self, fault: Fault) -> None:
        self.counter += 1
        use_case = self.use_cases[self.counter % len(self.use_cases)]
        title = f"Bench use case {use_case} — drill {self.counter}"
        status, seconds, retried = self._send(
            "PATCH", f"/api/usecases/{use_case}/", json_body={"title": title}
        )
        check = ("SELECT 1 FROM usecases_usecase WHERE id = %s AND title = %s", (use_case, title))
        fault.saves.append(Save("use case", status, seconds, retried, check))

    def upload(self, fault: Fault, rows: int, *, timed: bool = True) -> int | None:
        """Upload a CSV of ``rows`` measurements on the data page; answer its batch id."""
        self.counter += 1
        start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=self.counter * 10)
        lines = ["timestamp,value"] + [
            f"{(start + timedelta(seconds=i)).isoformat()},{i % 97}" for i in range(rows)
        ]  # fmt: skip
        body, content_type = multipart(
            {"action": "upload", "kpi": str(fault.kpi), "csrfmiddlewaretoken": self._csrf()},
            ("file", f"drill-{self.counter}.csv", ("\n".join(lines) + "\n").encode()),
        )
        status, seconds, retried = self._send(
            "POST", "/kpis/data/", body=body, content_type=content_type
        )
        batch = None
        if status == 302:
            found = self.sql(
                "SELECT id FROM kpis_ingestbatch WHERE filename = %s ORDER BY id DESC LIMIT 1",
                (f"drill-{self.counter}.csv",),
            )
            batch = found[0][0] if found else None
            if batch is not None:
                fault.batches.append(batch)
        check = (
            "SELECT 1 FROM kpis_ingestbatch WHERE filename = %s",
            (f"drill-{self.counter}.csv",),
        )
        fault.saves.append(Save("upload", status, seconds, retried, check, timed))
        return batch

    def _csrf(self) -> str:
        assert self.session is not None
        return next((c.value or "" for c in self.session.cookies if c.name == "csrftoken"), "")

    def series(self, fault: Fault, *, upload_rows: int = UPLOAD_ROWS, rounds: int = 3) -> None:
        for _ in range(rounds):
            self.save_measurement(fault)
            self.patch_use_case(fault)
        if upload_rows:
            self.upload(fault, upload_rows)
        self.save_measurement(fault)

    # --- Faults ------------------------------------------------------------------------

    def run(self, name: str, kpi_index: int, action: Callable[[Fault], None]) -> Fault:
        fault = Fault(name, kpi=self.kpis[kpi_index])
        fault.first_job = self.last_job_id() + 1
        print(f"faults: {name} …", flush=True)
        action(fault)
        self.wait_for_backlog(self.recovery_wait, since=fault.first_job)
        fault.last_job = self.last_job_id()
        return fault

    def redis_stopped(self, fault: Fault) -> None:
        self.redis.stop()
        self.series(fault)
        self.redis.start()

    def redis_frozen(self, fault: Fault) -> None:
        self.redis.freeze()
        self.series(fault)
        self.redis.thaw()

    def worker_killed_mid_refresh(self, fault: Fault) -> None:
        before = self.sql("SELECT COALESCE(MAX(id), 0) FROM kpis_refreshrun")[0][0]
        manage(
            self.env, "shell", "-c",
            "from django.db import transaction\nfrom opsai.jobs import enqueue_on_commit\n"
            "with transaction.atomic():\n    enqueue_on_commit('kpis.tasks.refresh_snapshots')",
        )  # fmt: skip
        wait_for(
            lambda: bool(self.sql("SELECT 1 FROM kpis_refreshrun WHERE id > %s AND \"full\"", (before,))),
            what="the full refresh to start", timeout=60, every=0.02,
        )  # fmt: skip
        self.kill_worker()
        self.series(fault, upload_rows=0)
        self.start_worker()

    def worker_killed_mid_ingest(self, fault: Fault) -> None:
        batch = self.upload(fault, BIG_UPLOAD_ROWS, timed=False)
        if batch is None:
            print("faults: the big upload was refused; nothing to kill")
            return
        wait_for(
            lambda: self.sql("SELECT rows_processed FROM kpis_ingestbatch WHERE id = %s", (batch,))[0][0] > 0,
            what="the big ingest to start", timeout=120, every=0.02,
        )  # fmt: skip
        self.kill_worker()
        self.series(fault, upload_rows=0)
        self.start_worker()

    def kill_worker(self) -> None:
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)  # the main process and its pool, at once
        self.worker.wait(timeout=10)

    def postgres_restarted(self, fault: Fault) -> None:
        fault.allows_503 = True
        # A bounded read load beside the saves: two readers, one request at a time each.
        stop = threading.Event()
        assert self.session is not None
        base = self.session.base_url

        def read(reader: WebSession) -> None:
            paths = ["/kpis/portfolio/", "/governance/", "/usecases/", "/api/usecases/"]
            index = 0
            while not stop.is_set():
                status, _, _ = reader.request("GET", paths[index % len(paths)])
                index += 1
                if status == 503:
                    fault.reads_503 += 1
                elif status >= 500 or status == 0:
                    fault.reads_5xx += 1

        sessions = [WebSession(base), WebSession(base)]
        for reader in sessions:
            reader.sign_in("exec", PASSWORD)  # before the restart: a sign-in is a write
        readers = [
            threading.Thread(target=read, args=(reader,), daemon=True) for reader in sessions
        ]
        for thread in readers:
            thread.start()
        time.sleep(2)
        restart = threading.Thread(target=self.postgres.restart)
        restart.start()
        self.series(fault)
        restart.join()
        time.sleep(2)
        stop.set()
        for thread in readers:
            thread.join(timeout=60)

    # --- Figures -----------------------------------------------------------------------

    def figures(self, fault: Fault) -> dict[str, Any]:
        # Strict: a save is lost if it is not in the database at the end, whatever it answered.
        lost = [s for s in fault.saves if s.check and not self.sql(*s.check)]
        jobs = self.sql(
            "SELECT task_name, state, kwargs FROM opsai_outboxjob WHERE id BETWEEN %s AND %s",
            (fault.first_job, fault.last_job),
        )
        jobs_lost = sum(1 for _, state, _ in jobs if state != "done")
        batches_lost = 0
        ran_twice = 0
        runs = 0  # task executions seen in their effects: finished refresh runs, batch ingests
        for batch in fault.batches:
            status = self.sql("SELECT status FROM kpis_ingestbatch WHERE id = %s", (batch,))[0][0]
            batches_lost += status != "saved"
            ingests = self.sql(
                "SELECT COUNT(*) FROM governance_auditevent WHERE action = 'kpi.measurements_ingested' "
                "AND object_type = 'kpis.ingestbatch' AND object_id = %s",
                (str(batch),),
            )[0][0]
            ran_twice += max(0, ingests - 1)
            runs += ingests
        # Each refresh job of this fault's KPI records one finished run that names it.
        refresh_runs = self.sql(
            'SELECT COUNT(*) FROM kpis_refreshrun WHERE NOT "full" AND finished_at IS NOT NULL '
            "AND kpi_ids @> %s::jsonb",
            (f"[{fault.kpi}]",),
        )[0][0]
        ran_twice += max(0, refresh_runs - self._refresh_jobs_for(fault.kpi))
        runs += refresh_runs
        fivexx = sum(
            1 for s in fault.saves if (s.status >= 500 and s.status != 503) or s.status == 0
        )
        return {
            "fault": fault.name,
            "saves made": len(fault.saves),
            "saves lost": len(lost),
            "jobs": len(jobs),
            "runs": runs,
            "jobs lost": jobs_lost + batches_lost,
            "jobs run twice": ran_twice,
            "5xx": fivexx + fault.reads_5xx,
            "503": sum(s.retried_503 + (s.status == 503) for s in fault.saves) + fault.reads_503,
            "allows_503": fault.allows_503,
            "slowest save": max((s.seconds for s in fault.saves if s.timed), default=0.0),
        }

    def _refresh_jobs_for(self, kpi: int) -> int:
        # Refresh jobs name KPI ids; the run records the whole stack, which holds the KPI.
        rows = self.sql(
            "SELECT kwargs FROM opsai_outboxjob WHERE task_name = 'kpis.tasks.refresh_snapshots' "
            "AND kwargs ? 'kpi_ids'"
        )
        return sum(1 for (kwargs,) in rows if kpi in (kwargs.get("kpi_ids") or []))


def multipart(fields: dict[str, str], file: tuple[str, str, bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body with ``fields`` and one file (name, filename, content)."""
    boundary = f"----opsai{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    name, filename, content = file
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def print_table(rows: list[dict[str, Any]]) -> bool:
    columns = ["fault", "saves made", "saves lost", "jobs", "runs", "jobs lost", "jobs run twice", "5xx",
               "503", "slowest save"]  # fmt: skip
    widths = [35, 10, 10, 5, 5, 9, 14, 4, 4, 12]
    print()
    print(
        " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(columns, widths, strict=True))
        )
    )
    print("-+-".join("-" * w for w in widths))
    ok = True
    for row in rows:
        cells = []
        for i, (column, width) in enumerate(zip(columns, widths, strict=True)):
            value = row[column]
            text = f"{value:.2f} s" if column == "slowest save" else str(value)
            cells.append(text.ljust(width) if i == 0 else text.rjust(width))
        print(" | ".join(cells))
        ok = ok and not (row["saves lost"] or row["jobs lost"] or row["jobs run twice"] or row["5xx"]
                         or (row["503"] and not row["allows_503"]) or row["slowest save"] > SLOWEST_SAVE_LIMIT)  # fmt: skip
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--recovery-wait", type=float, default=180, help="seconds to wait for jobs after each fault"
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs directory")
    parser.add_argument("--verbose", action="store_true", help="print every save as it is answered")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="opsai-faults-"))
    drill = Drill(work, args.recovery_wait, verbose=args.verbose)
    started = time.monotonic()
    try:
        drill.start()
        faults = [
            drill.run("(a) Redis stopped, then started", 0, drill.redis_stopped),
            drill.run("(b) Redis frozen (SIGSTOP/SIGCONT)", 1, drill.redis_frozen),
            drill.run("(c) worker SIGKILLed mid-refresh", 2, drill.worker_killed_mid_refresh),
            drill.run("(c) worker SIGKILLed mid-ingest", 3, drill.worker_killed_mid_ingest),
            drill.run("(d) PostgreSQL restarted under load", 4, drill.postgres_restarted),
        ]
        drill.wait_for_backlog(args.recovery_wait)
        ok = print_table([drill.figures(fault) for fault in faults])
    finally:
        drill.stop()
    print(f"\nfaults: {'PASS' if ok else 'FAIL'} in {time.monotonic() - started:.0f} s "
          f"(0 lost, 0 run twice, 0 5xx, every save ≤ {SLOWEST_SAVE_LIMIT:g} s); logs in {work}")  # fmt: skip
    if ok and not args.keep:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
