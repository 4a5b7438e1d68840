"""Reads shared by opsai's own pages: health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from opsai.celery import app as celery_app
from opsai.tasks import WORKER_HEARTBEAT_KEY


def health_report() -> dict[str, Any]:
    """Check the database, the broker and the worker heartbeat; ``ok`` if all are."""
    report: dict[str, Any] = {
        "database": _check_database(),
        "broker": _check_broker(),
        "worker": _check_worker(),
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
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            transport = conn.transport_cls
        return {"ok": True, "transport": str(transport)}
    except Exception as error:
        return {"ok": False, "error": str(error)[:200]}


def _check_worker() -> dict[str, Any]:
    try:
        stamp = cache.get(WORKER_HEARTBEAT_KEY)
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
