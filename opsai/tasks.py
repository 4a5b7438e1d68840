"""Background jobs that belong to no domain."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from opsai.outbox import outbox_prune, outbox_relay

WORKER_HEARTBEAT_KEY = "opsai:worker-heartbeat"


@shared_task(name="opsai.tasks.worker_heartbeat")
def worker_heartbeat() -> str:
    """Record that a worker is alive and consuming jobs; ``/healthz`` reads it."""
    now = timezone.now().isoformat()
    cache.set(WORKER_HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(name="opsai.tasks.relay_outbox")
def relay_outbox() -> int:
    """Publish the outbox jobs their on-commit publish missed, prune old done ones (beat)."""
    outbox_prune()
    return outbox_relay()
