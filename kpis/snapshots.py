"""The snapshot refresh: aggregate measurements in the database, apply the pure status rules,
store one snapshot per KPI per day, roll statuses up the stack and advance slip alerts.

PostgreSQL computes every KPI's figures in one statement (FILTER aggregates,
``regr_slope`` for the trend, LATERAL index look-ups for the latest value and the
30/60/90-day marks). The embedded SQLite default takes a portable, slower path:
a few ORM queries per KPI that never load more than the last 90 days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Avg, Max, OuterRef, Q, Subquery
from django.utils import timezone

from audit.services import audit_record
from kpis import calculations as calc
from kpis.choices import AlertReason, AlertState, RunStatus
from kpis.models import KPI, Alert, Measurement, RefreshRun, Snapshot
from kpis.signals import kpi_alert_fired
from opsai import formatting
from opsai.jobs import enqueue_on_commit
from opsai.mail import absolute_url, mail_on_commit
from opsai.outbox import outbox_supersede

logger = logging.getLogger(__name__)


@dataclass
class Figures:
    """The aggregate figures of one KPI as of one day, before the status rules."""

    kpi_id: int
    latest_at: datetime | None
    latest_value: float | None
    baseline_mean: float | None
    slope: float | None
    value_30: float | None
    value_60: float | None
    value_90: float | None


def day_end(as_of: date) -> datetime:
    """The exclusive upper bound of ``as_of``: midnight UTC after it."""
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)


# One statement for all KPIs. The aggregate scans only the rows it needs (last 90 days
# and the baseline window); the latest value and the 30/60/90-day marks are index look-ups.
FIGURES_SQL = """
WITH k AS (
    SELECT id, baseline_start, baseline_end FROM kpis_kpi WHERE id = ANY(%(ids)s)
),
agg AS (
    SELECT m.kpi_id,
        avg(m.value) FILTER (
            WHERE m.timestamp >= k.baseline_start AND m.timestamp < k.baseline_end + 1
        ) AS baseline_mean,
        regr_slope(m.value, extract(epoch FROM m.timestamp) / 86400.0)
            FILTER (WHERE m.timestamp >= %(t90)s) AS slope
    FROM kpis_measurement m JOIN k ON k.id = m.kpi_id
    WHERE m.timestamp < %(end)s
      AND (m.timestamp >= %(t90)s
           OR (m.timestamp >= k.baseline_start AND m.timestamp < k.baseline_end + 1))
    GROUP BY m.kpi_id
)
SELECT k.id, latest.timestamp, latest.value, agg.baseline_mean, agg.slope,
       v30.value, v60.value, v90.value
FROM k
LEFT JOIN agg ON agg.kpi_id = k.id
LEFT JOIN LATERAL (SELECT timestamp, value FROM kpis_measurement
    WHERE kpi_id = k.id AND timestamp < %(end)s ORDER BY timestamp DESC LIMIT 1) latest ON true
LEFT JOIN LATERAL (SELECT value FROM kpis_measurement
    WHERE kpi_id = k.id AND timestamp < %(t30)s ORDER BY timestamp DESC LIMIT 1) v30 ON true
LEFT JOIN LATERAL (SELECT value FROM kpis_measurement
    WHERE kpi_id = k.id AND timestamp < %(t60)s ORDER BY timestamp DESC LIMIT 1) v60 ON true
LEFT JOIN LATERAL (SELECT value FROM kpis_measurement
    WHERE kpi_id = k.id AND timestamp < %(t90)s ORDER BY timestamp DESC LIMIT 1) v90 ON true
"""


def _bounds(as_of: date) -> dict[str, datetime]:
    end = day_end(as_of)
    return {
        "end": end,
        "t30": end - timedelta(days=30),
        "t60": end - timedelta(days=60),
        "t90": end - timedelta(days=90),
    }


def figures_compute(kpi_ids: list[int], as_of: date) -> list[Figures]:
    """Aggregate the measurements of ``kpi_ids`` up to the end of ``as_of``."""
    if not kpi_ids:
        return []
    bounds = _bounds(as_of)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(FIGURES_SQL, {"ids": list(kpi_ids), **bounds})
            return [Figures(*row) for row in cursor.fetchall()]
    return [_figures_portable(kpi, bounds) for kpi in KPI.objects.filter(pk__in=kpi_ids)]


def _figures_portable(kpi: KPI, bounds: dict[str, datetime]) -> Figures:
    rows = Measurement.objects.filter(kpi=kpi, timestamp__lt=bounds["end"])
    latest = rows.order_by("-timestamp").values_list("timestamp", "value").first()

    def value_before(moment: datetime) -> float | None:
        found = rows.filter(timestamp__lt=moment).order_by("-timestamp").values_list("value")
        first = found.first()
        return first[0] if first else None

    baseline_mean = None
    if kpi.baseline_start and kpi.baseline_end:
        baseline_mean = rows.filter(
            timestamp__gte=datetime.combine(kpi.baseline_start, time.min, tzinfo=UTC),
            timestamp__lt=day_end(kpi.baseline_end),
        ).aggregate(mean=Avg("value"))["mean"]
    recent = rows.filter(timestamp__gte=bounds["t90"]).values_list("timestamp", "value")
    slope = calc.slope_per_day([(ts.timestamp() / 86400.0, value) for ts, value in recent])
    return Figures(
        kpi_id=kpi.pk,
        latest_at=latest[0] if latest else None,
        latest_value=latest[1] if latest else None,
        baseline_mean=baseline_mean,
        slope=slope,
        value_30=value_before(bounds["t30"]),
        value_60=value_before(bounds["t60"]),
        value_90=value_before(bounds["t90"]),
    )


def _move(latest: float | None, earlier: float | None) -> float | None:
    return latest - earlier if latest is not None and earlier is not None else None


@dataclass(slots=True)
class SnapshotRow:
    """One snapshot's values, ready to store (plain data: the refresh writes thousands)."""

    kpi_id: int
    as_of: date
    computed_at: datetime
    run_id: int | None
    latest_value: float | None
    latest_at: datetime | None
    baseline: float | None
    change_abs: float | None
    change_pct: float | None
    progress: float | None
    trend_per_day: float | None
    move_30: float | None
    move_60: float | None
    move_90: float | None
    realised_value: Decimal | None
    guardrail_breached: bool
    status: str
    rolled_up_status: str


# Column order of SnapshotRow after (kpi_id, as_of), as stored.
SNAPSHOT_COLUMNS = [name for name in SnapshotRow.__slots__ if name not in ("kpi_id", "as_of")]
SNAPSHOT_FIELDS = [name.removesuffix("_id") for name in SNAPSHOT_COLUMNS]


# Snapshot.realised_value is numeric(16, 2): anything this large is not storable.
REALISED_LIMIT = 1e14


def _money(amount: float | None) -> Decimal | None:
    """``amount`` as a storable money value; ``None`` when it is missing or would overflow.

    One KPI with an absurd value_per_unit or measurement must not fail the whole refresh.
    """
    if amount is None or not abs(amount) < REALISED_LIMIT:
        return None
    return Decimal(str(round(amount, 2)))


def snapshot_build(kpi: KPI, figures: Figures, as_of: date, run_id: int | None) -> SnapshotRow:
    """Turn one KPI's figures into a snapshot row using the pure status rules."""
    baseline = kpi.baseline_value if kpi.baseline_value is not None else figures.baseline_mean
    latest = figures.latest_value
    facts = calc.KpiFacts(
        direction=kpi.direction,
        cadence=kpi.cadence,
        as_of=as_of,
        latest_value=latest,
        latest_on=figures.latest_at.astimezone(UTC).date() if figures.latest_at else None,
        baseline=baseline,
        target_value=kpi.target_value,
        target_type=kpi.target_type,
        target_date=kpi.target_date,
        start_on=kpi.baseline_end,
        guardrail=kpi.guardrail_threshold,
    )
    change_abs, change_pct = calc.change(latest, baseline)
    realised = calc.realised_value(
        change_abs,
        kpi.direction,
        float(kpi.value_per_unit) if kpi.value_per_unit is not None else None,
    )
    return SnapshotRow(
        kpi_id=kpi.pk,
        as_of=as_of,
        computed_at=timezone.now(),
        run_id=run_id,
        latest_value=latest,
        latest_at=figures.latest_at,
        baseline=baseline,
        change_abs=change_abs,
        change_pct=change_pct,
        progress=calc.progress_to_target(latest, baseline, kpi.target_value),
        trend_per_day=figures.slope,
        move_30=_move(latest, figures.value_30),
        move_60=_move(latest, figures.value_60),
        move_90=_move(latest, figures.value_90),
        realised_value=_money(realised),
        guardrail_breached=calc.guardrail_breached(latest, kpi.guardrail_threshold, kpi.direction),
        status=calc.status(facts),
        rolled_up_status=calc.NO_DATA,
    )


_COLUMNS = ", ".join(["kpi_id", "as_of", *SNAPSHOT_COLUMNS])
_UPDATES = ", ".join(f"{name} = EXCLUDED.{name}" for name in SNAPSHOT_COLUMNS)
# Built from the fixed column names above, never from input.
_SNAPSHOT_LOAD_TABLE_SQL = f"CREATE TEMP TABLE IF NOT EXISTS kpis_snapshot_load ON COMMIT DELETE ROWS AS SELECT {_COLUMNS} FROM kpis_snapshot WITH NO DATA"  # noqa: S608
_SNAPSHOT_COPY_SQL = f"COPY kpis_snapshot_load ({_COLUMNS}) FROM STDIN"
_SNAPSHOT_UPSERT_SQL = f"INSERT INTO kpis_snapshot ({_COLUMNS}) SELECT {_COLUMNS} FROM kpis_snapshot_load ON CONFLICT (kpi_id, as_of) DO UPDATE SET {_UPDATES}"  # noqa: S608


def snapshots_store(rows: list[SnapshotRow]) -> None:
    """Upsert snapshot rows on (KPI, day): a second run of the same day overwrites, never duplicates."""
    if connection.vendor == "postgresql":
        # COPY + one INSERT … ON CONFLICT: several times faster than a parametrised bulk insert.
        with connection.cursor() as cursor:
            cursor.execute(_SNAPSHOT_LOAD_TABLE_SQL)
            with cursor.cursor.copy(_SNAPSHOT_COPY_SQL) as copy:
                for row in rows:
                    copy.write_row([getattr(row, name) for name in SnapshotRow.__slots__])
            cursor.execute(_SNAPSHOT_UPSERT_SQL)
            cursor.execute("TRUNCATE kpis_snapshot_load")
        return
    Snapshot.objects.bulk_create(
        [Snapshot(**{name: getattr(row, name) for name in SnapshotRow.__slots__}) for row in rows],
        batch_size=500,
        update_conflicts=True,
        unique_fields=["kpi", "as_of"],
        update_fields=SNAPSHOT_FIELDS,
    )


def snapshots_refresh(
    *,
    kpi_ids: list[int] | None = None,
    as_of: date | None = None,
    attempt: int = 1,
    outbox_job_id: int | None = None,
) -> RefreshRun:
    """Refresh the snapshots of every KPI (``kpi_ids=None``) or of the use cases of ``kpi_ids``.

    Safe to run twice or concurrently: the KPI rows are locked in id order, the
    snapshot is upserted on (KPI, day) and a slip alert counts each day once.
    Records a :class:`RefreshRun` (with the error, if any). The run is committed
    *running* with a lease first, then locked by the refresh's own transaction, which
    also finishes it: a worker killed mid-refresh rolls back every snapshot and leaves
    a run whose lease runs out with no lock held — what the sweeper calls abandoned
    (``refresh_runs_sweep``).
    """
    as_of = as_of or timezone.now().astimezone(UTC).date()
    run = RefreshRun.objects.create(
        as_of=as_of,
        full=kpi_ids is None,
        kpi_ids=kpi_ids or [],
        attempt=attempt,
        outbox_job_id=outbox_job_id,
        leased_until=timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS),
    )
    try:
        with transaction.atomic():
            # Held until the commit: a live refresh, however long, is never swept.
            RefreshRun.objects.select_for_update().get(pk=run.pk)
            refreshed, fired = _refresh(kpi_ids, as_of, run)
            run.kpis_refreshed = refreshed
            run.alerts_fired = len(fired)
            run.finished_at = timezone.now()
            run.status = RunStatus.FINISHED
            run.leased_until = None
            run.save(
                update_fields=[
                    "kpis_refreshed",
                    "alerts_fired",
                    "finished_at",
                    "error",
                    "status",
                    "leased_until",
                ]
            )
    except Exception as error:
        RefreshRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(),
            status=RunStatus.FAILED,
            leased_until=None,
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        raise
    return run


def refresh_runs_sweep(*, max_attempts: int) -> list[RefreshRun]:
    """Mark each run whose worker died *abandoned* and queue a fresh refresh in its place.

    A run is abandoned when it is still running, its lease has run out and no
    transaction holds its row (``SKIP LOCKED``: a live refresh keeps it locked until it
    commits). Its replacement refreshes the same KPIs as of the same day, as attempt
    + 1; after ``max_attempts`` none is queued (the hourly refresh tries again). Each
    run swept writes an audit event. Returns the runs abandoned.
    """
    expired = Q(status=RunStatus.RUNNING) & (
        Q(leased_until__lt=timezone.now()) | Q(leased_until__isnull=True)
    )
    swept: list[RefreshRun] = []
    with transaction.atomic():
        for run in RefreshRun.objects.select_for_update(skip_locked=True).filter(expired)[:100]:
            retry = run.attempt < max_attempts
            run.status = RunStatus.ABANDONED
            run.finished_at = timezone.now()
            run.leased_until = None
            run.error = (
                f"abandoned: its worker stopped before it finished (attempt {run.attempt}"
                f" of {max_attempts}); "
                + ("a fresh refresh was queued" if retry else "not retried, the hourly one will")
            )
            run.save(update_fields=["status", "finished_at", "leased_until", "error"])
            audit_record(
                actor=None,
                action="kpi.refresh_abandoned",
                target=run,
                after={"attempt": run.attempt, "requeued": retry, "kpi_ids": run.kpi_ids},
            )
            if retry:
                enqueue_on_commit(
                    "kpis.tasks.refresh_snapshots",
                    kpi_ids=None if run.full else run.kpi_ids,
                    as_of=run.as_of.isoformat(),
                    attempt=run.attempt + 1,
                )
            if run.outbox_job_id:
                outbox_supersede(
                    [run.outbox_job_id],
                    note=f"its worker stopped; refresh run {run.pk} abandoned"
                    + (" and a fresh refresh queued" if retry else ""),
                )
            swept.append(run)
    return swept


def _refresh(kpi_ids: list[int] | None, as_of: date, run: RefreshRun) -> tuple[int, list[Alert]]:
    kpis_qs = KPI.objects.all()
    if kpi_ids is not None:
        # A parent's rolled-up status needs its whole stack as of the same day, so an
        # incremental refresh covers every KPI of the use cases it touches.
        use_case_ids = KPI.objects.filter(pk__in=kpi_ids).values("use_case_id")
        kpis_qs = kpis_qs.filter(use_case_id__in=use_case_ids)
    # Lock in id order so two refreshes of the same KPIs run one after the other.
    kpis = {kpi.pk: kpi for kpi in kpis_qs.select_for_update(of=("self",)).order_by("pk")}
    if not kpis:
        return 0, []
    snapshots, failed = _snapshots_each(kpis, as_of, run.pk)
    if failed:
        run.error = "; ".join(f"KPI {pk} not refreshed: {why}" for pk, why in failed.items())[:2000]
    rolled = calc.roll_up(
        {kpi.pk: kpi.parent_id for kpi in kpis.values()},
        {snapshot.kpi_id: snapshot.status for snapshot in snapshots},
    )
    for snapshot in snapshots:
        snapshot.rolled_up_status = rolled[snapshot.kpi_id]
    snapshots_store(snapshots)
    _point_kpis_at_latest_snapshot(list(kpis), as_of)
    fired = _advance_alerts(kpis, snapshots, as_of)
    return len(snapshots), fired


def _snapshots_each(
    kpis: dict[int, KPI], as_of: date, run_id: int
) -> tuple[list[SnapshotRow], dict[int, str]]:
    """The snapshot rows of ``kpis`` and, by id, why each KPI that could not be computed failed.

    All KPIs are computed in one statement; if that fails (one stored row the maths
    cannot hold, e.g. a timestamp before year 1 in UTC), each is computed alone in its
    own savepoint, so one bad KPI is logged and skipped while the rest refresh.
    """
    try:
        with transaction.atomic():
            figures = figures_compute(list(kpis), as_of)
            return [snapshot_build(kpis[f.kpi_id], f, as_of, run_id) for f in figures], {}
    except (DatabaseError, ArithmeticError, ValueError, TypeError):
        logger.warning("refresh run %s: computing KPIs one by one", run_id, exc_info=True)
    snapshots: list[SnapshotRow] = []
    failed: dict[int, str] = {}
    for kpi_id, kpi in kpis.items():
        try:
            with transaction.atomic():
                (figures,) = figures_compute([kpi_id], as_of)
                snapshots.append(snapshot_build(kpi, figures, as_of, run_id))
        except (DatabaseError, ArithmeticError, ValueError, TypeError) as error:
            logger.exception("refresh run %s: KPI %s not refreshed", run_id, kpi_id)
            failed[kpi_id] = f"{type(error).__name__}: {error}"
    return snapshots, failed


def _point_kpis_at_latest_snapshot(kpi_ids: list[int], as_of: date) -> None:
    # Point each KPI at the day just stored unless it already has a newer one: refreshing a
    # past day (history) must not move a KPI off its newest snapshot.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE kpis_kpi SET current_snapshot_id = s.id FROM kpis_snapshot s"
                " WHERE s.kpi_id = kpis_kpi.id AND s.as_of = %(as_of)s"
                " AND kpis_kpi.id = ANY(%(ids)s)"
                " AND kpis_kpi.current_snapshot_id IS DISTINCT FROM s.id"
                " AND NOT EXISTS (SELECT 1 FROM kpis_snapshot c"
                "  WHERE c.id = kpis_kpi.current_snapshot_id AND c.as_of > %(as_of)s)",
                {"as_of": as_of, "ids": kpi_ids},
            )
        return
    newest = Snapshot.objects.filter(kpi_id=OuterRef("pk")).order_by("-as_of").values("pk")[:1]
    for start in range(0, len(kpi_ids), 500):
        KPI.objects.filter(pk__in=kpi_ids[start : start + 500]).update(
            current_snapshot_id=Subquery(newest)
        )


def _advance_alerts(kpis: dict[int, KPI], snapshots: list[SnapshotRow], as_of: date) -> list[Alert]:
    """Open, count, fire or resolve slip alerts from this day's snapshots."""
    alerts = Alert.objects.all()
    if len(snapshots) <= 500:
        # An incremental refresh looks at its own KPIs; a full one at every alert (there are
        # few), which is cheaper than an IN list of thousands of ids.
        alerts = alerts.filter(kpi_id__in=[s.kpi_id for s in snapshots])
    open_alerts = {
        (alert.kpi_id, alert.reason): alert
        for alert in alerts.select_for_update().exclude(state=AlertState.RESOLVED)
    }
    # Replaying a day an alert (even a resolved one) has already seen changes nothing.
    seen_until = {
        (row["kpi_id"], row["reason"]): row["last"]
        for row in alerts.values("kpi_id", "reason").annotate(last=Max("last_as_of"))
    }
    now = timezone.now()
    # A replayed past day (a back-fill) dates its alerts on that day, not on the day of the
    # replay: otherwise weeks of history all read "fired today" on the weekly review.
    end_of_day = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)
    happened = min(now, end_of_day - timedelta(microseconds=1))
    fired: list[Alert] = []
    for snapshot in snapshots:
        kpi = kpis[snapshot.kpi_id]
        if (
            snapshot.status != calc.OFF_TRACK
            and not snapshot.guardrail_breached
            and not (
                (kpi.pk, AlertReason.OFF_TRACK) in open_alerts
                or (kpi.pk, AlertReason.GUARDRAIL) in open_alerts
            )
        ):
            continue  # the common case: nothing open, nothing wrong
        bad_by_reason = {
            AlertReason.GUARDRAIL: snapshot.guardrail_breached,
            AlertReason.OFF_TRACK: snapshot.status == calc.OFF_TRACK
            and not snapshot.guardrail_breached,
        }
        for reason, bad in bad_by_reason.items():
            alert = open_alerts.get((kpi.pk, reason))
            if alert is None and (not bad or as_of <= seen_until.get((kpi.pk, reason), date.min)):
                continue
            advanced = _alert_advance(
                alert, kpi=kpi, reason=reason, bad=bad, as_of=as_of, happened=happened, now=now
            )
            if advanced is not None:
                fired.append(advanced)
    for alert in fired:
        _notify_owner(alert)
    return fired


def _alert_advance(
    alert: Alert | None,
    *,
    kpi: KPI,
    reason: str,
    bad: bool,
    as_of: date,
    happened: datetime,
    now: datetime,
) -> Alert | None:
    """Move one KPI's alert for ``reason`` a step on (open, count, fire, resolve).

    Returns the alert when this step fired it, after telling other apps (the kill switch).
    """
    step = calc.alert_step(
        state=alert.state if alert else None,
        consecutive=alert.consecutive if alert else 0,
        last_as_of=alert.last_as_of if alert else None,
        bad=bad,
        as_of=as_of,
        needed=kpi.alert_after_snapshots,
    )
    if step.action == "none":
        return None
    if alert is None:
        alert = Alert(kpi=kpi, reason=reason, started_at=happened)
    alert.consecutive = step.consecutive
    alert.last_as_of = as_of
    if step.action == "resolve":
        alert.state = AlertState.RESOLVED
        alert.resolved_at = happened
    elif step.action == "fire":
        alert.state = AlertState.FIRING
        alert.fired_at = happened
        alert.notified_at = now if kpi.owner_id else None  # the email goes now
    alert.full_clean()
    alert.save()
    if step.action != "fire":
        return None
    kpi_alert_fired.send(sender=Alert, kpi=kpi, alert=alert, reason=reason)
    return alert


def _notify_owner(alert: Alert) -> None:
    """Email the fired alert's KPI owner, through the outbox (a rollback sends nothing)."""
    kpi = alert.kpi
    if not kpi.owner_id or not kpi.owner.email:
        return
    reason = alert.get_reason_display().lower()
    mail_on_commit(
        subject=f"[opsai] {kpi.name} is {reason}",
        body=(
            f"{kpi.name} ({kpi.use_case}) has been {reason} for "
            f"{formatting.count_noun(alert.consecutive, 'consecutive snapshot')}, "
            f"as of {formatting.date(alert.last_as_of)}.\n\n"
            # An email has no page to be relative to: the link must be absolute.
            f"{absolute_url(kpi.get_absolute_url())}"
        ),
        recipients=[kpi.owner.email],
    )
