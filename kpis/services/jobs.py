"""Background ingest batches under a lease, and the sweeper that takes back stale jobs.

A large upload is stored as a *queued* :class:`~kpis.models.IngestBatch` and processed
by ``kpis.tasks.process_ingest_batch``:

1. **Claim** — a conditional UPDATE (``queued``, or ``running`` with a lease that ran
   out) sets it *running*, adds one to ``attempts`` and gives it a lease, the way
   healthchecks claims its work: PostgreSQL re-checks the WHERE clause after taking
   the row lock, so of two claimers exactly one wins. The attempt number is the
   claim's fencing token: every later write of this worker is conditional on it, so a
   worker that lost its lease (stalled, then came back) can change nothing.
2. **Validate** every row before any is written (a batch with a bad row saves
   nothing and names the row), renewing the lease after each chunk checked.
3. **Save in chunks** of ``INGEST_CHUNK_ROWS``, each in its own transaction with the
   progress (``rows_saved``) and the lease renewal: a worker killed mid-batch leaves
   whole chunks only, and the next claim resumes after the last one committed. Rows
   are upserted on (KPI, timestamp), so none is ever stored twice.
4. **Finish** — *saved*, the payload dropped, an audit event, and one snapshot
   refresh of the touched KPIs.

The sweeper (``stale_jobs_sweep``: beat every minute, ``manage.py sweep_stale_jobs``)
re-queues a running batch whose lease ran out — its worker vanished — through the
outbox, up to ``JOB_MAX_ATTEMPTS`` claims, then marks it failed with the reason; it
does the same for refresh runs (``kpis.snapshots.refresh_runs_sweep``). Each action
writes an audit event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services import audit_record
from kpis.choices import BatchStatus
from kpis.models import IngestBatch, Measurement
from kpis.services.ingest import (
    ParsedRows,
    csv_records,
    ingest_refusals,
    measurements_parse,
    measurements_write,
)
from kpis.snapshots import refresh_runs_sweep
from opsai.jobs import enqueue_on_commit
from opsai.models import OutboxJob
from opsai.outbox import outbox_supersede

logger = logging.getLogger(__name__)

Row = tuple[int, datetime, float]


class LeaseLost(Exception):
    """The batch is no longer this worker's (the sweeper or another worker took it)."""


class ChunkRefused(Exception):
    """Rows that passed validation no longer do (e.g. their KPI was deleted meanwhile)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} row(s) refused")
        self.errors = errors


def _lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.JOB_LEASE_SECONDS)


def _lease_ran_out(now: datetime) -> Q:
    # A running batch with no lease at all was claimed before batches had leases.
    return Q(status=BatchStatus.RUNNING) & (Q(leased_until__lt=now) | Q(leased_until__isnull=True))


def ingest_batch_claim(*, batch_id: int) -> int | None:
    """Claim the batch for this worker; the attempt number (fencing token), or ``None``.

    Claimable: *queued*, or *running* with a lease that ran out and attempts left.
    ``None`` when another worker holds it, it is finished, or it is gone.
    """
    now = timezone.now()
    claimable = Q(status=BatchStatus.QUEUED) | (
        _lease_ran_out(now) & Q(attempts__lt=settings.JOB_MAX_ATTEMPTS)
    )
    with transaction.atomic():
        claimed = IngestBatch.objects.filter(claimable, pk=batch_id).update(
            status=BatchStatus.RUNNING,
            attempts=F("attempts") + 1,
            leased_until=_lease_end(now),
            heartbeat_at=now,
        )
        if not claimed:
            return None
        # Our UPDATE holds the row until the commit: the number read is our claim's.
        return IngestBatch.objects.values_list("attempts", flat=True).get(pk=batch_id)


def _renew(batch_id: int, attempt: int, *, expect: Q | None = None, **fields: Any) -> None:
    """Renew the lease and record ``fields`` if this claim still holds the batch; else LeaseLost."""
    now = timezone.now()
    held = IngestBatch.objects.filter(
        expect or Q(), pk=batch_id, status=BatchStatus.RUNNING, attempts=attempt
    ).update(**{"leased_until": _lease_end(now), "heartbeat_at": now, **fields})
    if not held:
        raise LeaseLost(f"batch {batch_id}: attempt {attempt} no longer holds the lease")


def ingest_batch_process(*, batch_id: int) -> IngestBatch:
    """Claim a queued (or stranded) upload, validate it whole, save it in committed chunks.

    Running it twice, or on a batch another worker holds, changes nothing. A database
    that went away leaves the lease to run out, and the sweeper re-queues the batch.
    """
    attempt = ingest_batch_claim(batch_id=batch_id)
    if attempt is None:
        return IngestBatch.objects.defer("payload").get(pk=batch_id)
    batch = IngestBatch.objects.select_related("created_by").get(pk=batch_id)
    try:
        records = csv_records(batch.payload)
        validated: list[Row] | None = None
        if batch.validated_at is None:
            parsed = _validate(batch, records, attempt)
            if parsed.errors or not parsed.rows:
                return _reject(batch, parsed, attempt)
            validated = parsed.rows
        elif batch.rows_saved:
            logger.info("batch %s: attempt %s resumes after row %s", batch_id, attempt,
                        batch.rows_saved)  # fmt: skip
        chunk = max(1, settings.INGEST_CHUNK_ROWS)
        for start in range(batch.rows_saved, len(records), chunk):
            if validated is not None:
                rows = validated[start : start + chunk]
            else:
                rows = _reparse(records[start : start + chunk])
            _save_chunk(batch, attempt, start=start, rows=rows)
        return _finish(batch, attempt, rows=len(records))
    except LeaseLost as error:
        logger.warning("%s; stopping", error)
    except ValidationError as error:  # the payload is not readable CSV: nothing was saved
        parsed = ParsedRows(errors=[{"line": 1, "reason": "; ".join(error.messages)}])
        return _reject(batch, parsed, attempt)
    except ChunkRefused as error:
        _fail(batch_id, attempt, errors=error.errors)
    except (OperationalError, InterfaceError, SoftTimeLimitExceeded):
        # The database went away, or the time limit came: the chunks saved so far stay,
        # the lease runs out and the sweeper re-queues the batch to go on from there.
        raise
    except Exception as error:
        _fail(batch_id, attempt, errors=[{"line": 0, "reason": f"{type(error).__name__}: {error}"}])
        raise
    return IngestBatch.objects.defer("payload").get(pk=batch_id)


def _validate(
    batch: IngestBatch, records: list[tuple[int, dict[str, Any]]], attempt: int
) -> ParsedRows:
    """Check every row (renewing the lease per chunk); record ``validated_at`` if all pass."""
    parsed = ParsedRows()
    seen: dict[tuple[int, datetime], int] = {}
    chunk = max(1, settings.INGEST_CHUNK_ROWS)
    for start in range(0, len(records), chunk):
        part = measurements_parse(records[start : start + chunk], seen=seen)
        parsed.rows.extend(part.rows)
        parsed.errors.extend(part.errors)
        parsed.total += part.total
        _renew(batch.pk, attempt, rows_processed=parsed.total)
    parsed.errors = sorted(
        parsed.errors + ingest_refusals(batch.created_by, seen), key=lambda e: e["line"]
    )
    if not parsed.errors and parsed.rows:
        _renew(batch.pk, attempt, validated_at=timezone.now())
    return parsed


def _reparse(records: list[tuple[int, dict[str, Any]]]) -> list[Row]:
    """The rows of one chunk of a batch validated by an earlier attempt."""
    part = measurements_parse(records)
    if part.errors:
        raise ChunkRefused(part.errors)
    return part.rows


def _save_chunk(batch: IngestBatch, attempt: int, *, start: int, rows: list[Row]) -> None:
    """Upsert one chunk and advance ``rows_saved`` in one transaction, under the lease."""
    with transaction.atomic():
        # First, so the batch row stays locked while the chunk is written: a second
        # claimer waits, then finds rows_saved moved on (or the lease gone) and stops.
        _renew(batch.pk, attempt, expect=Q(rows_saved=start), rows_saved=start + len(rows))
        measurements_write(rows, batch=batch)


def _finish(batch: IngestBatch, attempt: int, *, rows: int) -> IngestBatch:
    """Mark the batch saved (audit event, refresh of the touched KPIs) if still ours."""
    with transaction.atomic():
        _renew(
            batch.pk,
            attempt,
            status=BatchStatus.SAVED,
            rows_accepted=rows,
            rows_rejected=0,
            errors=[],
            finished_at=timezone.now(),
            payload="",
            leased_until=None,
        )
        batch.refresh_from_db()
        audit_record(
            actor=batch.created_by,
            action="kpi.measurements_ingested",
            target=batch,
            after={
                "source": batch.source,
                "status": batch.status,
                "rows_accepted": batch.rows_accepted,
                "rows_rejected": 0,
                "attempts": attempt,
            },
        )
        kpi_ids = sorted(
            # order_by(): the model's ordering would make DISTINCT count each timestamp.
            Measurement.objects.filter(batch=batch)
            .order_by()
            .values_list("kpi_id", flat=True)
            .distinct()
        )
        if kpi_ids:
            enqueue_on_commit("kpis.tasks.refresh_snapshots", kpi_ids=kpi_ids)
    return batch


def _reject(batch: IngestBatch, parsed: ParsedRows, attempt: int) -> IngestBatch:
    """Record every bad row (nothing was saved) if the batch is still ours."""
    errors = parsed.errors[:500] or [{"line": 0, "reason": "no rows to import"}]
    with transaction.atomic():
        _renew(
            batch.pk,
            attempt,
            status=BatchStatus.REJECTED,
            rows_processed=parsed.total,
            rows_accepted=0,
            rows_rejected=len(parsed.errors),
            errors=errors,  # enough to fix a file; the count says the rest
            finished_at=timezone.now(),
            payload="",
            leased_until=None,
        )
        batch.refresh_from_db()
        audit_record(
            actor=batch.created_by,
            action="kpi.measurements_ingested",
            target=batch,
            after={
                "source": batch.source,
                "status": batch.status,
                "rows_accepted": 0,
                "rows_rejected": batch.rows_rejected,
            },
        )
    return batch


def _fail(batch_id: int, attempt: int, *, errors: list[dict[str, Any]]) -> None:
    """Mark the batch failed with ``errors`` (if still ours), on the audit trail."""
    with transaction.atomic():
        try:
            _renew(batch_id, attempt, status=BatchStatus.FAILED, errors=errors[:500],
                   finished_at=timezone.now(), leased_until=None)  # fmt: skip
        except LeaseLost:
            return
        batch = IngestBatch.objects.defer("payload").get(pk=batch_id)
        audit_record(
            actor=None,
            action="kpi.batch_failed",
            target=batch,
            after={"attempts": attempt, "rows_saved": batch.rows_saved, "errors": errors[:5]},
        )


def ingest_batches_sweep(*, max_attempts: int) -> tuple[list[int], list[int]]:
    """Re-queue running batches whose lease ran out; fail those out of attempts.

    ``SKIP LOCKED``: a batch whose row a worker is writing a chunk under is alive.
    Returns the ids re-queued and the ids failed; each gets an audit event.
    """
    requeued: list[int] = []
    failed: list[int] = []
    with transaction.atomic():
        stale = (
            IngestBatch.objects.select_for_update(skip_locked=True)
            .filter(_lease_ran_out(timezone.now()))
            .defer("payload")[:100]
        )
        for batch in stale:
            before = {"status": batch.status, "attempts": batch.attempts,
                      "rows_saved": batch.rows_saved}  # fmt: skip
            # The dead worker's delivery is closed first (the replacement below is still
            # pending): if the broker hands its message back later, it is skipped.
            outbox_supersede(
                list(
                    OutboxJob.objects.filter(
                        task_name="kpis.tasks.process_ingest_batch",
                        args=[batch.pk],
                        state=OutboxJob.State.SENT,
                    ).values_list("pk", flat=True)
                ),
                note=f"its worker stopped; ingest batch {batch.pk} was swept",
            )
            if batch.attempts < max_attempts:
                batch.status = BatchStatus.QUEUED
                batch.leased_until = None
                batch.save(update_fields=["status", "leased_until"])
                action = "kpi.batch_requeued"
                enqueue_on_commit("kpis.tasks.process_ingest_batch", batch.pk)
                requeued.append(batch.pk)
            else:
                batch.status = BatchStatus.FAILED
                batch.leased_until = None
                batch.finished_at = timezone.now()
                batch.errors = [{"line": 0, "reason": _gave_up(batch)}]
                batch.save(update_fields=["status", "leased_until", "finished_at", "errors"])
                action = "kpi.batch_failed"
                failed.append(batch.pk)
            audit_record(
                actor=None,
                action=action,
                target=batch,
                before=before,
                after={"status": batch.status, "reason": "its worker stopped (lease ran out)"},
            )
    return requeued, failed


def _gave_up(batch: IngestBatch) -> str:
    return (
        f"its worker stopped {batch.attempts} time{'s' if batch.attempts != 1 else ''} before "
        f"finishing, so opsai gave up; {batch.rows_saved:,} of {batch.rows_total:,} rows were "
        "saved. Send the file again to save the rest (re-sent rows update, none is doubled)."
    )


@dataclass
class SweepResult:
    """What one sweep did: batches re-queued and failed, refresh runs abandoned."""

    batches_requeued: list[int]
    batches_failed: list[int]
    runs_abandoned: list[int]

    def __str__(self) -> str:
        return (
            f"re-queued {len(self.batches_requeued)} batch(es), failed "
            f"{len(self.batches_failed)}, abandoned {len(self.runs_abandoned)} refresh run(s)"
        )


def stale_jobs_sweep() -> SweepResult:
    """Take back the ingest batches and refresh runs whose worker vanished (beat, every minute)."""
    max_attempts = settings.JOB_MAX_ATTEMPTS
    requeued, failed = ingest_batches_sweep(max_attempts=max_attempts)
    runs = refresh_runs_sweep(max_attempts=max_attempts)
    return SweepResult(requeued, failed, [run.pk for run in runs])
