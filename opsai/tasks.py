"""Background jobs that belong to no domain."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

WORKER_HEARTBEAT_KEY = "opsai:worker-heartbeat"


@shared_task(name="opsai.tasks.worker_heartbeat")
def worker_heartbeat() -> str:
    """Record that a worker is alive and consuming jobs; ``/healthz`` reads it."""
    now = timezone.now().isoformat()
    cache.set(WORKER_HEARTBEAT_KEY, now, timeout=None)
    return now
