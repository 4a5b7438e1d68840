"""The weekly review: what moved, what slipped, stale data and stage changes, as a page and an email."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from kpis.calculations import SEVERITY, good_change
from kpis.choices import AlertState, Level, Status
from kpis.models import KPI, Alert, ReviewDigest, Snapshot
from kpis.selectors import VANITY
from kpis.services import week_start
from opsai import formatting
from opsai.mail import mail_on_commit
from opsai.roles import Role
from usecases.models import StageChange
from usecases.selectors import usecase_visibility

MOVERS_SHOWN = 10


def weekly_review(*, week: date | None = None) -> dict[str, Any]:
    """The review of the week starting on ``week``'s Monday (this week by default).

    Compares each KPI's newest snapshot in the week with its newest before the week.
    Submitted use cases only: the review is mailed to executives, and a draft is private
    to the people working on it (``usecases.selectors.usecase_visibility``).
    A fixed number of queries.
    """
    start = week_start(week or timezone.localdate())
    end = start + timedelta(days=6)
    start_dt = datetime.combine(start, time.min, tzinfo=UTC)
    end_dt = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    end_day = Snapshot.objects.filter(as_of__gte=start, as_of__lte=end).aggregate(d=Max("as_of"))[
        "d"
    ]
    before_day = Snapshot.objects.filter(as_of__lt=start).aggregate(d=Max("as_of"))["d"]
    submitted_kpis = usecase_visibility(None, through="kpi__use_case__")
    now_rows = _snapshots_on(
        end_day, Snapshot.objects.filter(submitted_kpis).select_related("kpi__use_case")
    )
    before_rows = _snapshots_on(
        before_day, Snapshot.objects.only("kpi_id", "latest_value", "rolled_up_status", "status")
    )
    moved, status_slips = _compare(now_rows, before_rows)
    alerts = list(
        Alert.objects.filter(submitted_kpis, fired_at__gte=start_dt, fired_at__lt=end_dt)
        .exclude(kpi__in=KPI.objects.filter(VANITY))  # never shown alone to executives
        .select_related("kpi__use_case")
        .order_by("fired_at", "pk")
    )
    # Stale as of that week's snapshots, not today's: a past review tells what was true then.
    stale = sorted(
        (
            snap.kpi
            for snap in now_rows.values()
            if snap.status == Status.NO_DATA and snap.kpi.level != Level.MODEL
        ),
        key=lambda kpi: (kpi.use_case.title, kpi.name),
    )[:25]
    stage_changes = list(
        StageChange.objects.filter(usecase_visibility(None, through="use_case__"))
        .filter(changed_at__gte=start_dt, changed_at__lt=end_dt)
        .select_related("use_case", "changed_by")
        .order_by("changed_at")
    )
    next_week = start + timedelta(days=7)
    return {
        "week": start,
        "week_end": end,
        "previous_week": start - timedelta(days=7),
        "next_week": next_week if next_week <= timezone.localdate() else None,
        "snapshot_day": end_day,
        "moved": moved[:MOVERS_SHOWN],
        "slipped": slips_summarise(status_slips, alerts),
        "stale": stale,
        "stage_changes": stage_changes,
    }


def _snapshots_on(day: date | None, snapshots: QuerySet[Snapshot]) -> dict[int, Snapshot]:
    """KPI id → its snapshot of ``day`` (none when there is no such day)."""
    return {s.kpi_id: s for s in snapshots.filter(as_of=day)} if day else {}


def _compare(
    now_rows: dict[int, Snapshot], before_rows: dict[int, Snapshot]
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """The KPIs that moved (biggest first) and those whose rolled-up status got worse."""
    moved = []
    status_slips: dict[int, dict[str, Any]] = {}
    for kpi_id, snap in now_rows.items():
        if snap.kpi.level == Level.MODEL:
            continue  # model metrics are never shown alone to executives
        previous = before_rows.get(kpi_id)
        if previous and previous.latest_value is not None and snap.latest_value is not None:
            delta = snap.latest_value - previous.latest_value
            pct = delta / abs(previous.latest_value) * 100 if previous.latest_value else None
            if delta:
                moved.append({"snapshot": snap, "delta": delta, "pct": pct,
                              "good": (good_change(delta, snap.kpi.direction) or 0) > 0})  # fmt: skip
        if (
            previous
            and SEVERITY[snap.rolled_up_status] > SEVERITY[previous.rolled_up_status]
            and (snap.rolled_up_status != Status.NO_DATA)
        ):
            status_slips[kpi_id] = {
                "kpi": snap.kpi,
                "from": previous.get_rolled_up_status_display(),
                "to": snap.get_rolled_up_status_display(),
            }
    moved.sort(key=lambda row: abs(row["pct"] or 0), reverse=True)
    return moved, status_slips


def slips_summarise(
    status_slips: dict[int, dict[str, Any]], alerts: list[Alert]
) -> list[dict[str, Any]]:
    """One line per KPI: its status slip (if any) and, per alert reason, what happened.

    A KPI can fire, recover and fire again in one week (two Alert rows for one reason);
    that is one slip told once — how many times it fired, the first time, and whether
    it is still firing — not two lines that read like duplicates.
    """
    rows: dict[int, dict[str, Any]] = {
        kpi_id: {**slip, "alerts": {}} for kpi_id, slip in status_slips.items()
    }
    for alert in alerts:  # oldest first, so the last one seen tells the current state
        row = rows.setdefault(
            alert.kpi_id, {"kpi": alert.kpi, "from": None, "to": None, "alerts": {}}
        )
        summary = row["alerts"].setdefault(
            alert.reason,
            {"reason": alert.get_reason_display(), "first_fired": alert.fired_at, "times": 0},
        )
        summary["times"] += 1
        summary["still_firing"] = alert.state != AlertState.RESOLVED
    ordered = sorted(rows.values(), key=lambda row: (row["kpi"].use_case.title, row["kpi"].name))
    for row in ordered:
        row["alerts"] = list(row["alerts"].values())
    return ordered


def weekly_review_send(*, week: date | None = None) -> int:
    """Email the review of ``week`` (last week by default) to every executive, once per week.

    Returns how many people it was sent to (0 if this week was already sent).
    """
    start = week_start(week or (timezone.localdate() - timedelta(days=7)))
    recipients = list(
        get_user_model()
        .objects.filter(groups__name=Role.EXECUTIVE.value, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    with transaction.atomic():
        digest, created = ReviewDigest.objects.get_or_create(week=start)
        if not created:
            return 0
        context = weekly_review(week=start)
        # Mail clients have no page to be relative to: every link is absolute.
        context["site_url"] = settings.SITE_URL
        body = render_to_string("kpis/review_email.txt", context)
        html = render_to_string("kpis/review_email.html", context)
        # One job with the digest row: committed together, sent by a worker, retried.
        mail_on_commit(
            subject=f"[opsai] Weekly review, week of {formatting.date(start)}",
            body=body,
            recipients=recipients,
            html=html,
        )
        digest.recipients = len(recipients)
        digest.save(update_fields=["recipients"])
    return len(recipients)
