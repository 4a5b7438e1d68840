"""Background jobs that belong to no domain."""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.core.cache import cache
from django.core.mail import send_mail
from django.utils import timezone

from opsai.digest import needs_digest_send
from opsai.outbox import outbox_prune, outbox_relay

WORKER_HEARTBEAT_KEY = "opsai:worker-heartbeat"


@shared_task(name="opsai.tasks.worker_heartbeat")
def worker_heartbeat() -> str:
    """Record that a worker is alive and consuming jobs; ``/healthz`` reads it."""
    now = timezone.now().isoformat()
    cache.set(WORKER_HEARTBEAT_KEY, now, timeout=None)
    return now


@worker_ready.connect
def heartbeat_when_ready(**_: Any) -> None:
    """Beat first sends the heartbeat 30 s after it starts: say so the moment the worker
    is consuming, so ``/healthz`` is 200 within seconds of ``make run``, not half a minute."""
    worker_heartbeat()


@shared_task(name="opsai.tasks.relay_outbox")
def relay_outbox() -> int:
    """Publish the outbox jobs their on-commit publish missed, prune old done ones (beat)."""
    outbox_prune()
    return outbox_relay()


@shared_task(
    name="opsai.tasks.email_send",
    # A mail server that is down or refusing for now: try again later, not never.
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=15 * 60,
    max_retries=10,
)
def email_send(*, subject: str, body: str, recipients: list[str], html: str | None = None) -> int:
    """Send one email recorded by ``opsai.mail.mail_on_commit``; returns messages sent."""
    return send_mail(subject, body, None, recipients, html_message=html)


@shared_task(name="opsai.tasks.send_needs_digest")
def send_needs_digest() -> int:
    """Record the weekly "Needs you" email of each person with something waiting (beat,
    Monday 07:00); a second run in the same week records nothing. Returns how many."""
    return needs_digest_send()
