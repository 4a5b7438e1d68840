"""Helpers shared by the governance services (not part of the public API)."""

from __future__ import annotations

from typing import Any

from kpis.services import annotation_create
from opsai.mail import mail_on_commit


def _annotate(*, actor: Any, kind: str, text: str, use_case: Any, when: Any) -> None:
    """A marker on the use case's KPI charts (releases, incidents, pauses)."""
    annotation_create(actor=actor, kind=kind, text=text[:300], starts_at=when, use_case=use_case)


def _send_on_commit(subject: str, body: str, recipients: list[str]) -> None:
    """Email once the change commits (through the outbox), so a rolled-back change tells no one."""
    mail_on_commit(subject=subject, body=body, recipients=recipients)
