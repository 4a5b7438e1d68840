"""Weekly check-ins: the owner's read of a KPI beside its computed status."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from kpis.models import KPI, CheckIn


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


@transaction.atomic
def checkin_record(
    *, actor: Any, kpi: KPI, confidence: str, analysis: str, week: date | None = None
) -> CheckIn:
    """Record (or replace) the owner's check-in on ``kpi`` for ``week`` (this week by default)."""
    week = week_start(week or timezone.localdate())
    if week > week_start(timezone.localdate()):
        # A check-in is a judgement on what has happened; next week's has not.
        raise ValidationError({"week": "A check-in is for this week or a past one."})
    check_in = CheckIn.objects.filter(kpi=kpi, week=week).first() or CheckIn(kpi=kpi, week=week)
    before = (
        {"confidence": check_in.confidence, "analysis": check_in.analysis} if check_in.pk else None
    )
    check_in.confidence = confidence
    check_in.analysis = analysis.strip()
    check_in.author = actor
    check_in.created_at = timezone.now()
    check_in.full_clean()
    check_in.save()
    audit_record(
        actor=actor,
        action="kpi.checked_in",
        target=check_in,
        before=before,
        after={"kpi": kpi.pk, "week": week.isoformat(), "confidence": confidence},
    )
    return check_in
