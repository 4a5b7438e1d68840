"""The transactional outbox: jobs recorded with the change, published, finished.

``opsai.jobs.enqueue_on_commit`` inserts an :class:`~opsai.models.OutboxJob` in the
caller's transaction and, on commit, calls :func:`outbox_publish`. Whatever that
publish misses (broker stopped or frozen, process gone) the relay
(:func:`outbox_relay`, run by beat and by ``manage.py outbox_relay``) publishes later.

Each publish first *claims* the row with a conditional UPDATE (pending → sent), the
way healthchecks claims its work: PostgreSQL re-checks the WHERE clause after taking
the row lock, so of two relays racing for one job exactly one UPDATE matches and
only that one publishes. The message carries the job's id in the ``outbox_id``
header; :class:`OutboxTask`, every task's base class, marks the row done or failed
when the task has finished, and skips a job already done.

Exactly once, in effect: a job can still reach a worker twice (a publish that timed
out after Redis took the message, a redelivery after a worker was killed), so every
task takes ids and checks state before it acts (an ingest batch that is no longer
*queued* is left alone, a refresh rewrites the same snapshots); the skip of a job
already done removes most duplicates before they reach the task.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from kombu import Connection

from opsai.celery import app as celery_app
from opsai.models import OutboxJob

logger = logging.getLogger(__name__)

OUTBOX_HEADER = "outbox_id"
State = OutboxJob.State


class BrokerUnavailable(Exception):
    """The broker did not take a message within the publish timeout."""


def publish_connection() -> Connection:
    """A broker connection that gives up within ``OUTBOX_PUBLISH_TIMEOUT`` seconds.

    The worker's own connection keeps the longer ``CELERY_BROKER_*`` timeouts; only
    what a request or a relay waits on is short. No retries: the relay is the retry.
    """
    timeout = settings.OUTBOX_PUBLISH_TIMEOUT
    return celery_app.connection_for_write(
        connect_timeout=timeout,
        transport_options={
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "max_retries": 0,
            "connect_retries_timeout": timeout,
            # redis-py retries a timed-out command by default; here that would only wait.
            "retry_on_timeout": False,
            "health_check_interval": 0,
        },
    )


def outbox_publish(job_id: int, *, connection: Connection | None = None) -> bool:
    """Claim the pending job ``job_id`` and publish it; ``True`` if this call sent it.

    ``False`` when another publisher claimed it first. Raises :class:`BrokerUnavailable`
    (after putting the job back to pending) when the broker did not take it.
    """
    due = Q(pk=job_id, state=State.PENDING)
    return _claim_and_publish(job_id, due, connection)


def outbox_relay(*, older_than: timedelta | None = None, limit: int = 500) -> int:
    """Publish every pending job older than ``older_than``, and re-send lost ones.

    Pending jobs younger than ``older_than`` (default ``OUTBOX_RELAY_AFTER``) are left
    to their own on-commit publish. A job *sent* but not finished after
    ``OUTBOX_RESEND_AFTER`` is sent again: its message was lost (a Redis restarted
    without its data) or its worker died. Stops at the first broker error, since the
    rest would wait on the same broker. Returns how many jobs this relay published.
    """
    due = _due(older_than if older_than is not None else settings.OUTBOX_RELAY_AFTER)
    candidates = list(
        OutboxJob.objects.filter(due).order_by("created_at").values_list("pk", flat=True)[:limit]
    )
    if not candidates:
        return 0
    published = 0
    with publish_connection() as connection:
        for job_id in candidates:
            try:
                published += _claim_and_publish(job_id, due & Q(pk=job_id), connection)
            except BrokerUnavailable as error:
                logger.warning("outbox relay stopped: %s", error)
                break
    return published


def outbox_prune() -> int:
    """Delete done jobs finished more than ``OUTBOX_KEEP_DONE`` ago; failed ones stay."""
    cutoff = timezone.now() - settings.OUTBOX_KEEP_DONE
    deleted, _ = OutboxJob.objects.filter(state=State.DONE, finished_at__lt=cutoff).delete()
    return deleted


def _due(older_than: timedelta) -> Q:
    now = timezone.now()
    pending = Q(state=State.PENDING, created_at__lte=now - older_than)
    lost = Q(state=State.SENT, sent_at__lte=now - settings.OUTBOX_RESEND_AFTER)
    return pending | lost


def _claim_and_publish(job_id: int, due: Q, connection: Connection | None) -> bool:
    claimed = OutboxJob.objects.filter(due).update(
        state=State.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    job = OutboxJob.objects.get(pk=job_id)
    try:
        if connection is None:
            with publish_connection() as own:
                _send(job, own)
        else:
            _send(job, connection)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"[:500]
        # Conditional: a worker may already have finished it if Redis took the message.
        OutboxJob.objects.filter(pk=job_id, state=State.SENT, attempts=job.attempts).update(
            state=State.PENDING, last_error=message
        )
        raise BrokerUnavailable(message) from error
    return True


def _send(job: OutboxJob, connection: Connection) -> None:
    signature = celery_app.signature(job.task_name, args=job.args, kwargs=job.kwargs)
    signature.apply_async(connection=connection, retry=False, headers={OUTBOX_HEADER: job.pk})


def outbox_finish(job_id: int, *, error: str = "") -> None:
    """Mark the job done (or failed, with ``error``): its task has finished."""
    OutboxJob.objects.filter(pk=job_id).exclude(state=State.DONE).update(
        state=State.FAILED if error else State.DONE,
        finished_at=timezone.now(),
        last_error=error[:500],
    )


def outbox_supersede(job_ids: list[int], *, note: str) -> int:
    """Close jobs handed to a worker that died, whose work the sweeper re-queued.

    Their messages may still come back from the broker (after its visibility timeout):
    a closed job is skipped then, so the work is done once, by its replacement. The
    row keeps ``note`` (which job replaced it) as the reason it ended.
    """
    return OutboxJob.objects.filter(pk__in=job_ids, state__in=[State.PENDING, State.SENT]).update(
        state=State.DONE, finished_at=timezone.now(), last_error=note[:500]
    )


def outbox_job_running(task: Task) -> int | None:
    """The outbox job id of the delivery ``task`` is running, or ``None`` (beat, shell)."""
    return _outbox_id(task)


def _outbox_id(task: Task) -> int | None:
    value = getattr(task.request, OUTBOX_HEADER, None)
    return value if isinstance(value, int) else None


class OutboxTask(Task):
    """Every opsai task's base: closes its outbox row when the task has finished.

    A task called directly (tests, the shell) or sent by beat carries no outbox id and
    runs as usual. Celery calls ``on_success``/``on_failure`` only for a final outcome:
    a task that asks to be retried keeps its job *sent* (the retry carries the header).
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task, unless its outbox job was already done by an earlier delivery."""
        job_id = _outbox_id(self)
        if job_id is not None and OutboxJob.objects.filter(pk=job_id, state=State.DONE).exists():
            logger.info("outbox job %s already done; skipping a second delivery", job_id)
            return None
        return super().__call__(*args, **kwargs)

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        """Mark the outbox job done."""
        job_id = _outbox_id(self)
        if job_id is not None:
            outbox_finish(job_id)

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """Mark the outbox job failed, with the error."""
        job_id = _outbox_id(self)
        if job_id is not None:
            outbox_finish(job_id, error=f"{type(exc).__name__}: {exc}")
