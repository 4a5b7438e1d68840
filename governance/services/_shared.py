"""Helpers shared by the governance services (not part of the public API)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from kpis.services import annotation_create

logger = logging.getLogger(__name__)


def _annotate(*, actor: Any, kind: str, text: str, use_case: Any, when: Any) -> None:
    """A marker on the use case's KPI charts (releases, incidents, pauses)."""
    annotation_create(actor=actor, kind=kind, text=text[:300], starts_at=when, use_case=use_case)


def _send_on_commit(subject: str, body: str, recipients: list[str]) -> None:
    """Send an email once the change commits, so a rolled-back change tells no one."""
    recipients = sorted({r for r in recipients if r})
    if not recipients:
        return

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            # The change is committed; a mail server outage must not turn it into an error page.
            logger.exception("could not email %s about %r", recipients, subject)

    transaction.on_commit(send)
