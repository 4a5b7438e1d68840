"""Work survives a killed worker: leases on ingest batches and refresh runs, chunks that
commit their progress, and the sweeper that takes back what a vanished worker held.

A worker's death is simulated in-process by an exception no handler catches (it
unwinds like a kill at that point: the open transaction rolls back, nothing else
runs), and for real by SIGKILL on a Celery worker subprocess in the middle of a batch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from kpis import snapshots as snapshots_module
from kpis.models import IngestBatch, Measurement, RefreshRun, Snapshot
from kpis.services import jobs as jobs_module
from kpis.services import measurement_batch_queue, measurements_upload
from kpis.services.jobs import ingest_batch_claim, ingest_batch_process, stale_jobs_sweep
from kpis.snapshots import snapshots_refresh
from kpis.tasks import process_ingest_batch, refresh_snapshots
from opsai.models import OutboxJob
from tests.kpis.factories import KPIFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2020, 1, 1, tzinfo=UTC)


class WorkerKilled(BaseException):
    """Raised where a worker dies: not an Exception, so no handler of opsai's runs."""


def _csv(kpi_id: int, rows: int, *, bad_line: int | None = None) -> str:
    lines = ["kpi,timestamp,value"]
    for i in range(rows):
        value = "oops" if bad_line == i + 2 else str(i)
        lines.append(f"{kpi_id},{(START + timedelta(hours=i)).isoformat()},{value}")
    return "\n".join(lines) + "\n"


def _queue(actor: Any, kpi_id: int, rows: int, *, bad_line: int | None = None) -> IngestBatch:
    return measurement_batch_queue(
        actor=actor, source="csv", filename="big.csv", rows=rows,
        payload=_csv(kpi_id, rows, bad_line=bad_line),
    )  # fmt: skip


def _after_lease(settings: Any) -> time_machine.travel:
    return time_machine.travel(timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS + 5))


@pytest.fixture
def die_after_chunks(monkeypatch: pytest.MonkeyPatch) -> Callable[[int | None], list[int]]:
    """``die_after_chunks(n)``: the worker dies as it writes chunk n + 1; returns the chunk
    sizes written (``None``: it never dies, just counts)."""
    written: list[int] = []
    real = jobs_module.measurements_write

    def install(n: int | None) -> list[int]:
        def write(rows: list[Any], *, batch: IngestBatch) -> None:
            if n is not None and len(written) >= n:
                raise WorkerKilled
            real(rows, batch=batch)
            written.append(len(rows))

        written.clear()
        monkeypatch.setattr(jobs_module, "measurements_write", write)
        return written

    return install


# --- (a) The claim is exclusive -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_one_batch_at_once_only_one_wins() -> None:
    # Created by hand: queueing would publish a job that no worker here is meant to run.
    batches = IngestBatch.objects.bulk_create(
        IngestBatch(source="csv", status="queued", rows_total=1, payload="kpi,timestamp,value\n")
        for _ in range(20)
    )
    results: dict[str, list[int | None]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claimer(name: str) -> None:
        try:
            start.wait()
            for batch in batches:
                results[name].append(ingest_batch_claim(batch_id=batch.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(name,)) for name in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    for a, b in zip(results["a"], results["b"], strict=True):
        assert sorted([a, b], key=lambda x: x is None) == [1, None], "exactly one claim per batch"
    assert set(IngestBatch.objects.values_list("status", "attempts")) == {("running", 1)}


def test_a_held_lease_cannot_be_claimed_until_it_runs_out(ops_lead: Any, settings: Any) -> None:
    batch = _queue(ops_lead, KPIFactory().pk, 3)
    assert ingest_batch_claim(batch_id=batch.pk) == 1
    assert ingest_batch_claim(batch_id=batch.pk) is None  # the first worker is alive

    with _after_lease(settings):
        assert ingest_batch_claim(batch_id=batch.pk) == 2
    batch.refresh_from_db()
    assert batch.status == "running" and batch.leased_until > timezone.now()


# --- (b) Chunks commit their progress; a killed batch resumes -----------------------------


def test_a_batch_killed_half_way_resumes_after_its_lease_and_saves_each_row_once(
    ops_lead: Any, settings: Any, die_after_chunks: Callable[[int | None], list[int]]
) -> None:
    """GIVEN a 5,500-row batch saved in chunks of 1,000
    WHEN its worker dies writing the third chunk, and the sweeper runs after the lease
    THEN the next attempt writes only the four chunks left, and every row is there once."""
    settings.INGEST_CHUNK_ROWS = 1_000
    kpi = KPIFactory()
    batch = _queue(ops_lead, kpi.pk, 5_500)
    die_after_chunks(2)

    with pytest.raises(WorkerKilled):
        ingest_batch_process(batch_id=batch.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.rows_saved, batch.attempts) == ("running", 2_000, 1)
    assert batch.validated_at is not None and batch.rows_processed == 5_500
    assert Measurement.objects.count() == 2_000  # the third chunk rolled back whole
    assert stale_jobs_sweep().batches_requeued == []  # the lease has not run out yet

    with _after_lease(settings):
        result = stale_jobs_sweep()
    assert result.batches_requeued == [batch.pk]
    assert IngestBatch.objects.get(pk=batch.pk).status == "queued"
    job = OutboxJob.objects.filter(task_name="kpis.tasks.process_ingest_batch").latest("pk")
    assert job.args == [batch.pk]
    assert AuditEvent.objects.filter(action="kpi.batch_requeued", object_id=str(batch.pk)).exists()

    written = die_after_chunks(None)
    assert process_ingest_batch(*job.args) == "saved"

    assert written == [1_000, 1_000, 1_000, 500], "resumed after the last committed chunk"
    batch.refresh_from_db()
    assert (batch.rows_saved, batch.rows_accepted, batch.attempts) == (5_500, 5_500, 2)
    assert batch.payload == "" and batch.leased_until is None
    values = sorted(Measurement.objects.filter(kpi=kpi).values_list("value", flat=True))
    assert values == [float(i) for i in range(5_500)], "every row once, with its own value"
    assert Measurement.objects.filter(batch=batch).count() == 5_500
    refresh = OutboxJob.objects.filter(task_name="kpis.tasks.refresh_snapshots").get()
    assert refresh.kwargs == {"kpi_ids": [kpi.pk]}


def test_a_batch_killed_while_checking_is_checked_again_and_saved(
    ops_lead: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.INGEST_CHUNK_ROWS = 1_000
    kpi = KPIFactory()
    batch = _queue(ops_lead, kpi.pk, 3_000)
    real_parse = jobs_module.measurements_parse
    calls: list[int] = []

    def parse(records: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise WorkerKilled
        return real_parse(records, **kwargs)

    monkeypatch.setattr(jobs_module, "measurements_parse", parse)
    with pytest.raises(WorkerKilled):
        ingest_batch_process(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.rows_processed, batch.rows_saved, batch.validated_at) == (1_000, 0, None)

    with _after_lease(settings):
        assert ingest_batch_process(batch_id=batch.pk).status == "saved"
    assert Measurement.objects.filter(kpi=kpi).count() == 3_000


def test_a_resumed_batch_whose_kpi_was_deleted_meanwhile_fails_naming_the_rows(
    ops_lead: Any, settings: Any, die_after_chunks: Callable[[int | None], list[int]]
) -> None:
    settings.INGEST_CHUNK_ROWS = 1_000
    kpi, other = KPIFactory(), KPIFactory()
    lines = _csv(kpi.pk, 2_000).splitlines()
    lines.append(f"{other.pk},2020-01-01T00:00:00+00:00,7")  # line 2,002, in the third chunk
    batch = measurement_batch_queue(
        actor=ops_lead, source="csv", filename="two.csv", rows=2_001,
        payload="\n".join(lines) + "\n",
    )  # fmt: skip
    die_after_chunks(1)
    with pytest.raises(WorkerKilled):
        ingest_batch_process(batch_id=batch.pk)
    other_id = other.pk
    other.delete()  # while the batch waited for its lease to run out

    die_after_chunks(None)
    with _after_lease(settings):
        done = ingest_batch_process(batch_id=batch.pk)

    assert done.status == "failed" and done.rows_saved == 2_000
    assert done.errors == [{"line": 2_002, "reason": f"unknown KPI '{other_id}'"}]
    assert AuditEvent.objects.filter(action="kpi.batch_failed", object_id=str(batch.pk)).exists()


def test_a_worker_that_lost_its_lease_writes_nothing_more(
    ops_lead: Any, settings: Any, die_after_chunks: Callable[[int | None], list[int]]
) -> None:
    """A worker that stalled past its lease, while another claimed the batch, stops at its
    next chunk instead of writing beside the new owner."""
    settings.INGEST_CHUNK_ROWS = 1_000
    batch = _queue(ops_lead, KPIFactory().pk, 3_000)
    stalled = ingest_batch_claim(batch_id=batch.pk)
    assert stalled == 1
    with _after_lease(settings):
        assert ingest_batch_claim(batch_id=batch.pk) == 2  # its lease ran out meanwhile

    with pytest.raises(jobs_module.LeaseLost):
        jobs_module._renew(batch.pk, stalled, rows_saved=1_000)
    assert IngestBatch.objects.get(pk=batch.pk).rows_saved == 0


# --- (c) The sweeper ----------------------------------------------------------------------


def test_the_sweeper_fails_a_batch_out_of_attempts_and_the_page_says_why(
    ops_lead: Any, settings: Any, client: Any
) -> None:
    settings.JOB_MAX_ATTEMPTS = 3
    batch = _queue(ops_lead, KPIFactory().pk, 10)
    IngestBatch.objects.filter(pk=batch.pk).update(
        status="running", attempts=3, rows_saved=5, rows_total=10,
        leased_until=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip

    result = stale_jobs_sweep()

    assert (result.batches_requeued, result.batches_failed) == ([], [batch.pk])
    batch.refresh_from_db()
    assert batch.status == "failed" and batch.finished_at is not None
    reason = batch.errors[0]["reason"]
    assert "its worker stopped 3 times" in reason and "5 of 10 rows were saved" in reason
    event = AuditEvent.objects.get(action="kpi.batch_failed", object_id=str(batch.pk))
    assert event.before["attempts"] == 3 and event.after["status"] == "failed"
    # A late redelivery of its message claims nothing.
    assert ingest_batch_process(batch_id=batch.pk).status == "failed"
    client.force_login(ops_lead)
    page = client.get(reverse("kpis:batch", args=[batch.pk])).content.decode()
    assert "The job failed" in page and "its worker stopped 3 times" in page


def test_the_batch_page_shows_a_resumed_batch_with_its_progress(ops_lead: Any, client: Any) -> None:
    batch = _queue(ops_lead, KPIFactory().pk, 10)
    IngestBatch.objects.filter(pk=batch.pk).update(
        status="running", attempts=2, rows_processed=10, rows_saved=4
    )
    client.force_login(ops_lead)
    page = client.get(reverse("kpis:batch", args=[batch.pk])).content.decode()
    assert "10 of 10 rows checked, 4 saved" in page
    assert "Attempt 2: resumed after the worker processing it stopped, from row 5." in page
    assert 'value="70"' in page  # checking and saving are each half of the bar


def test_the_sweeper_leaves_live_leases_and_finished_batches_alone(ops_lead: Any) -> None:
    kpi = KPIFactory()
    live = _queue(ops_lead, kpi.pk, 3)
    ingest_batch_claim(batch_id=live.pk)
    queued = _queue(ops_lead, kpi.pk, 3)
    saved = _queue(ops_lead, kpi.pk, 3)
    IngestBatch.objects.filter(pk=saved.pk).update(status="saved", leased_until=None)

    result = stale_jobs_sweep()

    assert (result.batches_requeued, result.batches_failed, result.runs_abandoned) == ([], [], [])
    statuses = dict(IngestBatch.objects.values_list("pk", "status"))
    assert statuses == {live.pk: "running", queued.pk: "queued", saved.pk: "saved"}


def test_a_refresh_killed_mid_run_is_abandoned_and_done_again(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a refresh whose worker dies while computing
    WHEN the sweeper runs after its lease
    THEN the run is abandoned (no snapshot was half-written) and a fresh refresh does it."""
    kpi = KPIFactory(baseline_value=1.0)
    Measurement.objects.create(kpi=kpi, timestamp=timezone.now() - timedelta(hours=1), value=2.0)
    real_refresh = snapshots_module._refresh

    def dies(*args: Any) -> Any:
        real_refresh(*args)
        raise WorkerKilled  # after the snapshots were written, before the commit

    monkeypatch.setattr(snapshots_module, "_refresh", dies)
    with pytest.raises(WorkerKilled):
        snapshots_refresh(kpi_ids=[kpi.pk])
    monkeypatch.setattr(snapshots_module, "_refresh", real_refresh)
    run = RefreshRun.objects.get()
    assert run.status == "running" and run.finished_at is None
    assert not Snapshot.objects.exists()
    assert stale_jobs_sweep().runs_abandoned == []  # its lease still runs

    with _after_lease(settings):
        assert stale_jobs_sweep().runs_abandoned == [run.pk]

    run.refresh_from_db()
    assert run.status == "abandoned" and run.finished_at is not None
    assert run.error.startswith("abandoned: its worker stopped") and "fresh refresh" in run.error
    assert AuditEvent.objects.filter(action="kpi.refresh_abandoned", object_id=str(run.pk)).exists()
    job = OutboxJob.objects.get(task_name="kpis.tasks.refresh_snapshots")
    assert job.kwargs == {"kpi_ids": [kpi.pk], "as_of": run.as_of.isoformat(), "attempt": 2}

    again = RefreshRun.objects.get(pk=refresh_snapshots(*job.args, **job.kwargs))
    assert (again.status, again.attempt, again.kpis_refreshed) == ("finished", 2, 1)
    assert Snapshot.objects.get(kpi=kpi).latest_value == 2.0


def test_a_full_refresh_abandoned_on_its_last_attempt_is_not_queued_again(settings: Any) -> None:
    settings.JOB_MAX_ATTEMPTS = 3
    run = RefreshRun.objects.create(
        as_of=date(2026, 3, 2), full=True, attempt=3,
        leased_until=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    assert stale_jobs_sweep().runs_abandoned == [run.pk]
    run.refresh_from_db()
    assert run.status == "abandoned" and "not retried, the hourly one will" in run.error
    assert not OutboxJob.objects.filter(task_name="kpis.tasks.refresh_snapshots").exists()


@pytest.mark.django_db(transaction=True)
def test_a_live_refresh_past_its_lease_is_never_swept(settings: Any) -> None:
    """The refresh holds its run's row until it commits, so a slow one is left alone."""
    run = RefreshRun.objects.create(
        as_of=date(2026, 3, 2), full=True, attempt=settings.JOB_MAX_ATTEMPTS,  # queues nothing
        leased_until=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    locked, release = threading.Event(), threading.Event()

    def refresh_in_progress() -> None:
        try:
            with transaction.atomic():
                RefreshRun.objects.select_for_update().get(pk=run.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=refresh_in_progress)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        assert stale_jobs_sweep().runs_abandoned == []
    finally:
        release.set()
        thread.join(timeout=30)
    assert stale_jobs_sweep().runs_abandoned == [run.pk]  # once nobody holds it


def test_the_sweep_command_says_what_it_did(
    ops_lead: Any, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = _queue(ops_lead, KPIFactory().pk, 3)
    ingest_batch_claim(batch_id=batch.pk)
    with _after_lease(settings):
        call_command("sweep_stale_jobs")
    out = capsys.readouterr().out.strip()
    assert out == "re-queued 1 batch(es), failed 0, abandoned 0 refresh run(s)"


def test_the_sweeper_runs_every_minute_on_beat(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["kpis-sweep-stale-jobs"]
    assert entry["task"] == "kpis.tasks.sweep_stale_jobs"
    assert entry["schedule"] == timedelta(minutes=1)
    # A job of a worker killed whole comes back from Redis after the visibility timeout;
    # it must outlast the longest task, or a live task would be delivered twice.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility == settings.CELERY_TASK_TIME_LIMIT + 5 * 60


# --- (d) A bad row still saves nothing ----------------------------------------------------


def test_a_background_batch_with_a_bad_row_in_a_late_chunk_saves_nothing(
    ops_lead: Any, settings: Any, die_after_chunks: Callable[[int | None], list[int]]
) -> None:
    settings.INGEST_CHUNK_ROWS = 1_000
    batch = _queue(ops_lead, KPIFactory().pk, 5_000, bad_line=4_502)
    written = die_after_chunks(None)

    done = ingest_batch_process(batch_id=batch.pk)

    assert done.status == "rejected" and written == []
    assert done.errors == [{"line": 4_502, "reason": "value 'oops' is not a number"}]
    assert (done.rows_saved, done.rows_accepted, done.rows_rejected) == (0, 0, 1)
    assert Measurement.objects.count() == 0 and done.payload == ""


# --- A real worker, really killed ---------------------------------------------------------


def _worker(tmp_path: Path, name: str, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
    """A ``celery worker`` subprocess on the test database, with extra settings in ``env``."""
    from django.conf import settings

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    url = f"postgres://{db['USER'] or 'postgres'}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    log_path = tmp_path / f"{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "opsai", "worker",
                "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
                "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-n", f"{name}-{os.getpid()}@%h",
            ],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": url, **env}, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    _until(lambda: "ready." in log_path.read_text(), 60, f"{name} start", log_path)
    return process, log_path


def _until(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
        process, log = _worker(tmp_path, name, **env)
        started.append(process)
        return process, log

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_whole_chunks_and_another_finishes_it(
    ops_lead: Any, settings: Any, workers: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    """GIVEN a real worker saving a 50,000-row upload in chunks of 2,500 under a 2 s lease
    WHEN it is killed with SIGKILL once some rows are saved, a new worker starts and the
    sweeper runs after the lease
    THEN the batch is re-queued, resumed where it stopped and saved: 50,000 rows, once each."""
    lease = {"JOB_LEASE_SECONDS": "2", "INGEST_CHUNK_ROWS": "2500"}
    first, first_log = workers("first", **lease)
    kpi = KPIFactory()
    rows = 50_000
    batch = measurements_upload(
        actor=ops_lead, filename="big.csv", content=_csv(kpi.pk, rows).encode()
    )
    assert batch.status == "queued"

    def saved_so_far() -> int:
        return IngestBatch.objects.values_list("rows_saved", flat=True).get(pk=batch.pk)

    _until(lambda: saved_so_far() > 0, 120, "the first chunks", first_log)
    first.kill()  # SIGKILL: no handler, no cleanup
    first.wait(timeout=10)

    batch.refresh_from_db()
    assert batch.status == "running" and batch.attempts == 1
    assert 0 < batch.rows_saved < rows, "killed in the middle"
    assert batch.rows_saved % 2_500 == 0
    assert Measurement.objects.filter(kpi=kpi).count() == batch.rows_saved  # whole chunks only
    killed_at = batch.rows_saved

    _, second_log = workers("second", **lease)
    _until(lambda: timezone.now() > batch.leased_until, 10, "the lease to run out", second_log)
    assert stale_jobs_sweep().batches_requeued == [batch.pk]

    _until(
        lambda: IngestBatch.objects.get(pk=batch.pk).status == "saved", 120, "batch saved",
        second_log,
    )  # fmt: skip
    batch.refresh_from_db()
    assert (batch.rows_saved, batch.rows_accepted, batch.attempts) == (rows, rows, 2)
    assert Measurement.objects.filter(kpi=kpi).count() == rows
    assert Measurement.objects.filter(kpi=kpi).values("timestamp").distinct().count() == rows
    total = sum(Measurement.objects.filter(kpi=kpi).values_list("value", flat=True))
    assert total == sum(range(rows)), "each row with its own value"
    assert f"attempt 2 resumes after row {killed_at}" in second_log.read_text()
    # The touched KPI is refreshed once saved (waited for, so no message is left queued).
    _until(
        lambda: RefreshRun.objects.filter(status="finished", kpi_ids=[kpi.pk]).exists(), 60,
        "the refresh of the touched KPI", second_log,
    )  # fmt: skip


# --- The dead worker's outbox job is closed in favour of its replacement ------------------


def _sent_job(task_name: str, *args: Any, **kwargs: Any) -> OutboxJob:
    return OutboxJob.objects.create(
        task_name=task_name, args=list(args), kwargs=kwargs, state="sent", sent_at=timezone.now()
    )


def test_sweeping_a_batch_closes_its_dead_delivery_and_queues_one_new_job(ops_lead: Any) -> None:
    batch = _queue(ops_lead, KPIFactory().pk, 10)
    # The job that queued it was handed to a worker, which died.
    dead = OutboxJob.objects.get(task_name="kpis.tasks.process_ingest_batch", args=[batch.pk])
    OutboxJob.objects.filter(pk=dead.pk).update(state="sent", sent_at=timezone.now())
    other = _sent_job("kpis.tasks.process_ingest_batch", batch.pk + 1000)
    IngestBatch.objects.filter(pk=batch.pk).update(
        status="running", attempts=1, leased_until=timezone.now() - timedelta(seconds=1)
    )
    assert stale_jobs_sweep().batches_requeued == [batch.pk]
    dead.refresh_from_db()
    assert dead.state == "done" and "its worker stopped" in dead.last_error
    assert OutboxJob.objects.get(pk=other.pk).state == "sent"  # another batch's job
    replacement = OutboxJob.objects.exclude(pk__in=[dead.pk, other.pk]).get(
        task_name="kpis.tasks.process_ingest_batch"
    )
    assert replacement.args == [batch.pk] and replacement.state in ("pending", "sent")


def test_sweeping_a_refresh_closes_the_outbox_job_that_ran_it(settings: Any) -> None:
    dead = _sent_job("kpis.tasks.refresh_snapshots", kpi_ids=[1])
    run = RefreshRun.objects.create(
        as_of=date(2026, 3, 2), full=False, kpi_ids=[1], outbox_job_id=dead.pk,
        leased_until=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    assert stale_jobs_sweep().runs_abandoned == [run.pk]
    dead.refresh_from_db()
    assert dead.state == "done" and f"refresh run {run.pk} abandoned" in dead.last_error
