"""Reads shared by opsai's own pages: health and the outbox backlog."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connection
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from opsai.models import OutboxJob
from opsai.outbox import publish_connection
from opsai.tasks import WORKER_HEARTBEAT_KEY


def health_report() -> dict[str, Any]:
    """Check the database, the broker, the worker heartbeat and the outbox backlog.

    ``ok`` if all are. The broker is asked with the outbox's short publish timeout, so
    the report answers within a second whether Redis is up, stopped or frozen.
    """
    report: dict[str, Any] = {
        "database": _check_database(),
        "broker": _check_broker(),
        "worker": _check_worker(),
        "outbox": outbox_backlog(),
    }
    report["ok"] = all(part["ok"] for part in report.values())
    return report


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as error:
        return {"ok": False, "error": str(error).strip().splitlines()[0][:200]}


def _check_broker() -> dict[str, Any]:
    try:
        with publish_connection() as conn:
            conn.ensure_connection(max_retries=0, timeout=settings.OUTBOX_PUBLISH_TIMEOUT)
            transport = conn.transport_cls
        return {"ok": True, "transport": str(transport)}
    except Exception as error:
        return {"ok": False, "error": str(error)[:200]}


def _check_worker() -> dict[str, Any]:
    try:
        # The short-timeout alias: a frozen Redis must not hold /healthz.
        stamp = caches["health"].get(WORKER_HEARTBEAT_KEY)
    except Exception as error:
        return {"ok": False, "error": f"cache unavailable: {error}"[:200]}
    last_seen: datetime | None = parse_datetime(stamp) if stamp else None
    if last_seen is None:
        return {"ok": False, "error": "no heartbeat from a worker yet"}
    age = timezone.now() - last_seen
    ok = age <= settings.WORKER_HEARTBEAT_MAX_AGE
    result: dict[str, Any] = {
        "ok": ok,
        "last_heartbeat": stamp,
        "age_seconds": int(age.total_seconds()),
    }
    if not ok:
        result["error"] = "worker heartbeat is stale"
    return result


def outbox_backlog() -> dict[str, Any]:
    """How many outbox jobs wait to be published, and the age of the oldest.

    Not ``ok`` when the oldest is older than ``OUTBOX_BACKLOG_MAX_AGE``: the broker or
    the relay has been away long enough that background work is delayed.
    """
    try:
        backlog = OutboxJob.objects.filter(state=OutboxJob.State.PENDING).aggregate(
            pending=Count("pk"), oldest=Min("created_at")
        )
    except Exception as error:
        return {"ok": False, "error": str(error).strip().splitlines()[0][:200]}
    oldest: datetime | None = backlog["oldest"]
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    result: dict[str, Any] = {
        "ok": age <= settings.OUTBOX_BACKLOG_MAX_AGE.total_seconds(),
        "pending": backlog["pending"],
        "oldest_pending_age_seconds": int(age),
    }
    if not result["ok"]:
        result["error"] = "background jobs are waiting for the broker"
    return result


# Pages ask at most this often per process: the banner may lag by seconds, never cost
# every page a query (or, with a frozen Redis, a cache timeout).
_DELAY_CHECK_EVERY = 10.0
_delay_memo: dict[str, Any] = {"at": 0.0, "value": None}


def background_delay() -> dict[str, Any] | None:
    """Why background work is late, for the banner every page shows, or ``None``.

    Late means an outbox job waits longer than ``OUTBOX_BACKLOG_MAX_AGE`` to reach the
    broker, or a job handed to the broker that long ago is unfinished while no worker
    has reported in (a long job with a live worker is not late). Saves are kept
    either way; the banner says their follow-up work (refreshes, imports, emails) waits.
    """
    now = time.monotonic()
    if now - _delay_memo["at"] < _DELAY_CHECK_EVERY:
        return _delay_memo["value"]
    value = _background_delay_now()
    _delay_memo.update(at=now, value=value)
    return value


def _background_delay_now() -> dict[str, Any] | None:
    cutoff = timezone.now() - settings.OUTBOX_BACKLOG_MAX_AGE
    State = OutboxJob.State
    try:
        waiting = OutboxJob.objects.filter(state=State.PENDING, created_at__lte=cutoff).aggregate(
            count=Count("pk"), oldest=Min("created_at")
        )
        if waiting["count"]:
            return _delay("waiting for the job broker", waiting["count"], waiting["oldest"])
        unfinished = OutboxJob.objects.filter(state=State.SENT, sent_at__lte=cutoff).aggregate(
            count=Count("pk"), oldest=Min("created_at")
        )
    except DatabaseError:
        return None  # the page itself will say the database is away
    if unfinished["count"] and not _check_worker()["ok"]:
        return _delay("waiting for a worker", unfinished["count"], unfinished["oldest"])
    return None


def _delay(reason: str, count: int, oldest: datetime) -> dict[str, Any]:
    return {
        "reason": reason,
        "jobs": count,
        "minutes": max(1, int((timezone.now() - oldest).total_seconds() // 60)),
    }


def background_delay_remember(value: dict[str, Any] | None = None) -> None:
    """Set the remembered answer as if just checked (tests pin it, so that a page's
    query count does not depend on when the last check ran)."""
    _delay_memo.update(at=time.monotonic(), value=value)


def background_delay_forget() -> None:
    """Drop the remembered answer: the next page checks again."""
    _delay_memo.update(at=0.0, value=None)
