"""Celery jobs for KPIs: snapshot refresh, large ingest batches and the weekly review email.

Thin: each takes ids (or nothing), is safe to run twice and records its run.
"""

from __future__ import annotations

import logging
from datetime import date

from celery import Task, shared_task
from django.db import OperationalError

from kpis.models import IngestBatch
from kpis.review import weekly_review_send
from kpis.services import ingest_batch_process, stale_jobs_sweep
from kpis.snapshots import snapshots_refresh
from opsai.outbox import outbox_job_running

logger = logging.getLogger(__name__)


@shared_task(
    name="kpis.tasks.refresh_snapshots",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
    bind=True,
)
def refresh_snapshots(
    self: Task, kpi_ids: list[int] | None = None, as_of: str | None = None, attempt: int = 1
) -> int:
    """Refresh snapshots of all KPIs (beat) or of the use cases of ``kpi_ids`` (after an ingest).

    ``attempt`` > 1 when the sweeper queued it in place of a run whose worker died.
    """
    day = date.fromisoformat(as_of) if as_of else None
    run = snapshots_refresh(
        kpi_ids=kpi_ids, as_of=day, attempt=attempt, outbox_job_id=outbox_job_running(self)
    )
    return run.pk


@shared_task(name="kpis.tasks.process_ingest_batch")
def process_ingest_batch(batch_id: int) -> str:
    """Validate and save a large uploaded batch in committed chunks, under a lease.

    Running it twice, or while another worker holds the batch, does nothing; a batch
    whose worker died is resumed from its last committed chunk.
    """
    if not IngestBatch.objects.filter(pk=batch_id).exists():
        logger.info("ingest batch %s is gone", batch_id)
        return "gone"
    return ingest_batch_process(batch_id=batch_id).status


@shared_task(name="kpis.tasks.sweep_stale_jobs")
def sweep_stale_jobs() -> str:
    """Re-queue ingest batches and refresh runs whose worker vanished (beat, every minute)."""
    result = stale_jobs_sweep()
    if result.batches_requeued or result.batches_failed or result.runs_abandoned:
        logger.warning("stale jobs: %s", result)
    return str(result)


@shared_task(name="kpis.tasks.send_weekly_review")
def send_weekly_review(week: str | None = None) -> int:
    """Email last week's review to every executive, once per week."""
    return weekly_review_send(week=date.fromisoformat(week) if week else None)
