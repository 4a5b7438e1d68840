"""The append-only audit trail: every state change in opsai calls ``audit_record``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction

from audit.models import AuditEvent
from opsai.bulk import bulk_insert
from opsai.permissions import acting_user


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ticket_id: str = "",
    model_version: str = "",
) -> AuditEvent:
    """Append an audit event describing a change; call it inside that change's transaction.

    ``action`` is a dotted verb such as ``"usecase.stage_moved"``; ``actor`` is the
    user who acted (``None`` for the system, e.g. a Celery job).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "audit_record must run inside the transaction of the change it describes"
        )
    user = acting_user(actor)
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "system",
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        before=before,
        after=after,
        ticket_id=ticket_id,
        model_version=model_version,
    )


def audit_record_many(
    *,
    actor: Any,
    action: str,
    events: Iterable[tuple[models.Model, dict[str, Any] | None, dict[str, Any] | None]],
) -> int:
    """Append one audit event per ``(target, before, after)`` in one bulk insert.

    For a change that touches thousands of rows at once (an import): the same events
    :func:`audit_record` would write one by one, in the change's transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "audit_record_many must run inside the transaction of the change it describes"
        )
    user = acting_user(actor)
    name = user.get_username() if user else "system"
    rows = [
        AuditEvent(
            actor=user,
            actor_name=name,
            action=action,
            object_type=target._meta.label_lower,
            object_id=str(target.pk),
            object_repr=str(target)[:200],
            before=before,
            after=after,
        )
        for target, before, after in events
    ]
    return bulk_insert(AuditEvent, rows)
