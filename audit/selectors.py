"""Reads of the audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_event_list() -> QuerySet[AuditEvent]:
    """Every audit event, newest first (filter it with ``audit.filters.AuditEventFilterSet``)."""
    return AuditEvent.objects.all()
