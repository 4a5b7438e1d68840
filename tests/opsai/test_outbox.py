"""The transactional outbox: jobs recorded with the change, never lost, run once.

Tests that break the broker never touch the shared Redis: they point the publish path
at a port nothing listens on (a stopped Redis) or at their own ``redis-server``,
started on a free port and frozen with SIGSTOP.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from kpis.models import RefreshRun
from kpis.services import measurements_ingest
from opsai.celery import app as celery_app
from opsai.jobs import enqueue_on_commit
from opsai.models import OutboxJob
from opsai.outbox import outbox_relay, publish_connection
from opsai.tasks import relay_outbox
from tests.kpis.factories import KPIFactory

State = OutboxJob.State
REFRESH = "kpis.tasks.refresh_snapshots"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class OwnRedis:
    """A redis-server this test started, on its own port, that it may freeze."""

    process: subprocess.Popen[bytes]
    url: str

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    own = OwnRedis(process=process, url=f"redis://127.0.0.1:{port}/0")
    deadline = time.monotonic() + 10
    while True:
        try:
            own.client().ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield own
    own.thaw()
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(params=["stopped", "frozen"])
def broken_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a broker that is down: nothing listening, or a Redis frozen with SIGSTOP."""
    if request.param == "stopped":
        yield f"redis://127.0.0.1:{_free_port()}/0"
        return
    own = request.getfixturevalue("own_redis")
    own.freeze()
    yield own.url


def _point_publish_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    # The web side publishes through connection_for_write, which reads this setting.
    monkeypatch.setitem(celery_app.conf, "broker_write_url", url)


def _pending_jobs(count: int, *, age: timedelta = timedelta(minutes=1)) -> list[int]:
    jobs = OutboxJob.objects.bulk_create(
        OutboxJob(task_name="opsai.tasks.worker_heartbeat") for _ in range(count)
    )
    ids = [job.pk for job in jobs]
    OutboxJob.objects.filter(pk__in=ids).update(created_at=timezone.now() - age)
    return ids


def _queued_outbox_ids(own: OwnRedis) -> list[int]:
    queue = celery_app.conf.task_default_queue
    messages = own.client().lrange(queue, 0, -1)
    return [json.loads(message)["headers"]["outbox_id"] for message in messages]


# --- Recorded in the caller's transaction ----------------------------------------------


@pytest.mark.django_db
def test_a_change_that_rolls_back_records_no_job() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        KPIFactory()
        enqueue_on_commit(REFRESH, kpi_ids=[1])
        raise RuntimeError("the change failed")
    assert not OutboxJob.objects.exists()


@pytest.mark.django_db
def test_a_committed_change_has_its_job_with_its_arguments() -> None:
    with transaction.atomic():
        enqueue_on_commit(REFRESH, 7, "2026-03-02", kpi_ids=[1, 2])
    job = OutboxJob.objects.get()
    assert (job.task_name, job.args, job.kwargs) == (
        REFRESH,
        [7, "2026-03-02"],
        {"kpi_ids": [1, 2]},
    )
    # The test transaction never commits, so nothing was published yet.
    assert job.state == State.PENDING and job.attempts == 0


@pytest.mark.django_db(transaction=True)
def test_a_committed_job_is_published_on_commit(
    own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_publish_at(monkeypatch, own_redis.url)
    with transaction.atomic():
        enqueue_on_commit("opsai.tasks.worker_heartbeat")
        assert _queued_outbox_ids(own_redis) == []
    job = OutboxJob.objects.get()
    assert job.state == State.SENT and job.attempts == 1 and job.sent_at is not None
    assert _queued_outbox_ids(own_redis) == [job.pk]


# --- A broker that is down never holds a save, and loses nothing --------------------------


@pytest.mark.celery
def test_a_save_with_the_broker_down_answers_at_once_and_runs_once_when_it_is_back(
    broken_broker: str,
    ops_lead: Any,
    wait_for: Any,
    celery_worker: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN a broker stopped or frozen
    WHEN a measurement is saved (its snapshot refresh is a job)
    THEN the save answers well under 2 s and the job stays pending, with its error;
    WHEN the broker is back and the relay runs
    THEN a real worker runs the refresh exactly once and marks the job done, and a
    second delivery of the same message is skipped."""
    kpi = KPIFactory(owner=ops_lead)  # only who may write a KPI sends measurements into it
    _point_publish_at(monkeypatch, broken_broker)
    started = time.monotonic()
    batch = measurements_ingest(
        actor=ops_lead,
        source="api",
        records=[(1, {"kpi": kpi.pk, "timestamp": timezone.now().isoformat(), "value": 3.0})],
    )
    elapsed = time.monotonic() - started
    assert batch.status == "saved"
    assert elapsed < 1.5, f"the save took {elapsed:.2f} s with the broker down"
    job = OutboxJob.objects.get(task_name=REFRESH)
    assert job.state == State.PENDING and job.last_error
    assert job.kwargs == {"kpi_ids": [kpi.pk]}

    monkeypatch.undo()  # the broker is back
    assert outbox_relay(older_than=timedelta(0)) == 1
    wait_for(lambda: OutboxJob.objects.get(pk=job.pk).state == State.DONE, what="job done")
    job.refresh_from_db()
    assert job.attempts == 2, "one publish refused or timed out, one taken"
    assert job.finished_at is not None
    assert RefreshRun.objects.count() == 1
    assert outbox_relay(older_than=timedelta(0)) == 0

    # A duplicate delivery (a publish that timed out after Redis took it) runs nothing.
    with publish_connection() as conn:
        celery_app.signature(REFRESH, kwargs=job.kwargs).apply_async(
            connection=conn, headers={"outbox_id": job.pk}
        )
    wait_for(lambda: "already done" in celery_worker.read_text(), what="duplicate skipped")
    assert RefreshRun.objects.count() == 1


@pytest.mark.celery
def test_a_task_that_fails_marks_its_job_failed_with_the_error(wait_for: Any) -> None:
    with transaction.atomic():
        enqueue_on_commit(REFRESH, as_of="not-a-date")
    job = OutboxJob.objects.get()
    wait_for(lambda: OutboxJob.objects.get(pk=job.pk).state == State.FAILED, what="job failed")
    job.refresh_from_db()
    assert job.last_error.startswith("ValueError: Invalid isoformat string")
    assert job.finished_at is not None and not RefreshRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_frozen_broker_leaves_the_relay_and_the_job_pending_within_a_second(
    own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    [job_id] = _pending_jobs(1)
    _point_publish_at(monkeypatch, own_redis.url)
    own_redis.freeze()
    started = time.monotonic()
    assert outbox_relay() == 0
    assert time.monotonic() - started < 1.5
    job = OutboxJob.objects.get(pk=job_id)
    assert job.state == State.PENDING and "Timeout" in job.last_error

    own_redis.thaw()
    assert outbox_relay() == 1
    assert _queued_outbox_ids(own_redis) == [job_id]


# --- Relays -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_relays_racing_publish_each_job_once(
    own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _pending_jobs(200)
    _point_publish_at(monkeypatch, own_redis.url)
    start = threading.Barrier(2)
    published: list[int] = []

    def relay() -> None:
        try:
            start.wait()
            published.append(outbox_relay())
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    queued = _queued_outbox_ids(own_redis)
    assert sorted(queued) == sorted(ids), "every job is in the broker exactly once"
    assert sum(published) == 200
    assert set(OutboxJob.objects.values_list("state", "attempts")) == {(State.SENT, 1)}


@pytest.mark.django_db(transaction=True)
def test_the_relay_leaves_young_jobs_to_their_own_publish_and_resends_lost_ones(
    own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    _point_publish_at(monkeypatch, own_redis.url)
    [young] = _pending_jobs(1, age=timedelta(0))
    [lost] = _pending_jobs(1)
    OutboxJob.objects.filter(pk=lost).update(
        state=State.SENT, attempts=1, sent_at=timezone.now() - settings.OUTBOX_RESEND_AFTER
    )
    [running] = _pending_jobs(1)
    OutboxJob.objects.filter(pk=running).update(state=State.SENT, sent_at=timezone.now())

    assert outbox_relay() == 1
    assert _queued_outbox_ids(own_redis) == [lost]
    assert OutboxJob.objects.get(pk=lost).attempts == 2
    assert OutboxJob.objects.get(pk=young).state == State.PENDING


@pytest.mark.django_db(transaction=True)
def test_the_relay_command_publishes_by_hand(
    own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _pending_jobs(3)
    _point_publish_at(monkeypatch, own_redis.url)
    call_command("outbox_relay")
    assert capsys.readouterr().out.strip() == "published 3 outbox job(s)"
    assert sorted(_queued_outbox_ids(own_redis)) == sorted(ids)


@pytest.mark.django_db
def test_the_relay_task_prunes_done_jobs_after_a_week_and_keeps_failed_ones() -> None:
    old_done, recent_done, old_failed = _pending_jobs(3)
    long_ago = timezone.now() - timedelta(days=8)
    OutboxJob.objects.filter(pk__in=[old_done, old_failed]).update(finished_at=long_ago)
    OutboxJob.objects.filter(pk__in=[old_done, recent_done]).update(state=State.DONE)
    OutboxJob.objects.filter(pk=recent_done).update(finished_at=timezone.now())
    OutboxJob.objects.filter(pk=old_failed).update(state=State.FAILED)

    assert relay_outbox() == 0
    assert set(OutboxJob.objects.values_list("pk", flat=True)) == {recent_done, old_failed}


# --- /healthz -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_reports_the_backlog_and_says_503_when_it_is_old(client: Any) -> None:
    _pending_jobs(2, age=timedelta(minutes=10))
    outbox = client.get("/healthz").json()["outbox"]
    assert outbox["ok"] is False and outbox["pending"] == 2
    assert outbox["oldest_pending_age_seconds"] >= 600
    assert outbox["error"] == "background jobs are waiting for the broker"
    assert client.get("/healthz").status_code == 503


@pytest.mark.django_db
def test_healthz_calls_a_young_backlog_ok(client: Any) -> None:
    _pending_jobs(1, age=timedelta(seconds=5))
    outbox = client.get("/healthz").json()["outbox"]
    assert outbox["ok"] is True and outbox["pending"] == 1


@pytest.mark.django_db
def test_healthz_answers_within_a_second_with_a_dead_broker(
    client: Any, broken_broker: str, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    client.get("/healthz")  # the first request of a process also loads the URLconf
    # In production one Redis is the broker and the cache that holds the heartbeat.
    _point_publish_at(monkeypatch, broken_broker)
    settings.CACHES = {
        **settings.CACHES,
        "health": {**settings.CACHES["health"], "LOCATION": broken_broker},
    }
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"/healthz took {elapsed:.2f} s"
    assert response.status_code == 503
    body = response.json()
    assert body["broker"]["ok"] is False
    assert body["worker"]["error"].startswith("cache unavailable")


def test_a_killed_worker_hands_its_job_back_within_the_longest_task(settings: Any) -> None:
    # Late acks and reject-on-lost put a killed task's message back; Redis redelivers a
    # message taken by a worker that vanished whole after the visibility timeout, which
    # must outlast the longest task and be shorter than the outbox's own re-send.
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    visibility = timedelta(seconds=settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])
    assert timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) < visibility
    assert visibility < settings.OUTBOX_RESEND_AFTER <= timedelta(hours=1)
