"""What KPIs put in a person's "Needs you" list (``opsai.needs``).

- **check-ins due this week** — KPIs the user owns, on use cases in pilot or production
  (where the numbers should be moving), with no check-in for this week's Monday;
- **KPI alerts** — alerts firing (fired, not resolved) on KPIs the user owns;
- **off-track business KPIs** (a decision) — business KPIs whose current snapshot is off
  track, itself or through the KPIs beneath it (``rolled_up_status``, as the portfolio
  dashboard counts them).

Each is one COUNT and one LIMITed query.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from kpis.choices import AlertState, Level, Status
from kpis.models import KPI, Alert, CheckIn
from kpis.services import week_start
from opsai import formatting
from opsai.needs import NeedItem, register_need
from usecases.choices import Stage
from usecases.selectors import usecase_visibility

# Check-ins are asked for where the KPI should be moving: a use case live with users.
CHECK_IN_STAGES = (Stage.PILOT, Stage.PRODUCTION)


def check_ins_due(user: Any) -> QuerySet[KPI]:
    """KPIs ``user`` owns on pilot/production use cases with no check-in this week."""
    monday = week_start(timezone.localdate())
    return (
        KPI.objects.filter(owner=user.pk, use_case__stage__in=CHECK_IN_STAGES)
        .exclude(pk__in=CheckIn.objects.filter(week=monday).values("kpi_id"))
        .select_related("use_case")
        .order_by("use_case__title", "name", "pk")
    )


def _check_in_items(user: Any, limit: int) -> list[NeedItem]:
    monday = week_start(timezone.localdate())
    sunday = monday + timedelta(days=6)
    return [
        NeedItem(
            title=f"{kpi.name} ({kpi.use_case.title})",
            url=f"{kpi.get_absolute_url()}#check-in",
            detail=f"{kpi.get_level_display()} · due {formatting.date(sunday)}",
            action="Check in",
        )
        for kpi in check_ins_due(user)[:limit]
    ]


def alerts_on_owned_kpis(user: Any) -> QuerySet[Alert]:
    """Alerts firing on KPIs ``user`` owns, newest first."""
    return (
        Alert.objects.filter(kpi__owner=user.pk, state=AlertState.FIRING, resolved_at__isnull=True)
        .select_related("kpi__use_case")
        .order_by("-fired_at", "-pk")
    )


def _alert_items(user: Any, limit: int) -> list[NeedItem]:
    return [
        NeedItem(
            title=f"{alert.kpi.name} ({alert.kpi.use_case.title})",
            url=alert.kpi.get_absolute_url(),
            detail=f"{alert.get_reason_display()} since {formatting.date(alert.fired_at or alert.started_at)}",
            action="Look at the KPI",
        )
        for alert in alerts_on_owned_kpis(user)[:limit]
    ]


def business_kpis_off_track() -> QuerySet[KPI]:
    """Business KPIs of submitted use cases whose current snapshot is off track."""
    return (
        KPI.objects.filter(
            usecase_visibility(None, through="use_case__"),
            level=Level.BUSINESS,
            current_snapshot__rolled_up_status=Status.OFF_TRACK,
        )
        .select_related("use_case", "current_snapshot")
        .order_by("use_case__title", "name", "pk")
    )


def _off_track_items(user: Any, limit: int) -> list[NeedItem]:
    return [
        NeedItem(
            title=f"{kpi.name} ({kpi.use_case.title})",
            url=kpi.get_absolute_url(),
            detail=f"Off track as of {formatting.date(kpi.current_snapshot.as_of)} · "
            f"{kpi.use_case.get_stage_display()}",
            action="See why",
        )
        for kpi in business_kpis_off_track()[:limit]
    ]


def register() -> None:
    """Register the KPI entries in ``opsai.needs``."""
    register_need(
        "check-ins-due",
        "Check-ins due this week",
        count=lambda user: check_ins_due(user).count(),
        items=_check_in_items,
        see_all=lambda user: reverse("kpis:index"),
    )
    register_need(
        "kpi-alerts",
        "Alerts on your KPIs",
        count=lambda user: alerts_on_owned_kpis(user).count(),
        items=_alert_items,
        see_all=lambda user: reverse("kpis:index"),
    )
    register_need(
        "off-track-kpis",
        "Off-track business KPIs",
        count=lambda user: business_kpis_off_track().count(),
        items=_off_track_items,
        decision=True,
        see_all=lambda user: reverse("kpis:portfolio"),
    )
