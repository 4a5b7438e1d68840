"""The snapshot refresh on PostgreSQL: figures, statuses, roll-up, idempotence and slip alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from kpis.models import Alert, RefreshRun, Snapshot
from kpis.signals import kpi_alert_fired
from kpis.snapshots import _bounds, _figures_portable, figures_compute, snapshots_refresh
from tests.factories import UseCaseFactory
from tests.kpis.factories import KPIFactory, MeasurementFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def at(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def series(kpi: Any, values: dict[int, float]) -> None:
    """``values`` maps days before AS_OF → value."""
    for days_ago, value in values.items():
        MeasurementFactory(kpi=kpi, timestamp=at(AS_OF - timedelta(days=days_ago)), value=value)


def test_it_computes_each_figure_as_hand_computed() -> None:
    kpi = KPIFactory(
        direction="up",
        baseline_start=AS_OF - timedelta(days=120),
        baseline_end=AS_OF - timedelta(days=100),
        target_type="increase_to",
        target_value=200.0,
        target_date=AS_OF + timedelta(days=100),
        value_per_unit=10,
    )
    # Baseline window: 110 and 90 → mean 100. Then 120 (95 days ago), 130 (60), 140 (30), 150 (0).
    series(kpi, {110: 110.0, 101: 90.0, 95: 120.0, 60: 130.0, 30: 140.0, 0: 150.0})

    run = snapshots_refresh(as_of=AS_OF)
    snap = Snapshot.objects.get(kpi=kpi, as_of=AS_OF)

    assert run.kpis_refreshed == 1 and run.error == "" and run.finished_at
    assert snap.latest_value == 150.0 and snap.latest_at == at(AS_OF)
    assert snap.baseline == pytest.approx(100.0)
    assert snap.change_abs == pytest.approx(50.0) and snap.change_pct == pytest.approx(50.0)
    assert snap.progress == pytest.approx(0.5)
    # Movement against the last value strictly before 30/60/90 days before the end of the day.
    assert snap.move_30 == pytest.approx(150 - 140.0)
    assert snap.move_60 == pytest.approx(150 - 130.0)
    assert snap.move_90 == pytest.approx(150 - 120.0)
    # Last 90 days: (−60, 130), (−30, 140), (0, 150) → 1/3 per day.
    assert snap.trend_per_day == pytest.approx(1 / 3)
    assert float(snap.realised_value) == pytest.approx(500.0)
    # Expected progress: 100 of 200 days = 50%; done 50% → on track.
    assert snap.status == snap.rolled_up_status == "on_track"
    kpi.refresh_from_db()
    assert kpi.current_snapshot == snap


def test_the_sql_aggregate_matches_the_portable_path() -> None:
    kpi = KPIFactory(
        baseline_start=AS_OF - timedelta(days=200), baseline_end=AS_OF - timedelta(days=150)
    )
    series(kpi, {days: 50 + (days % 7) * 1.5 - days * 0.1 for days in range(0, 220, 3)})
    empty = KPIFactory()

    sql = {f.kpi_id: f for f in figures_compute([kpi.pk, empty.pk], AS_OF)}
    portable = _figures_portable(kpi, _bounds(AS_OF))

    assert sql[kpi.pk].latest_value == portable.latest_value
    assert sql[kpi.pk].baseline_mean == pytest.approx(portable.baseline_mean)
    assert sql[kpi.pk].slope == pytest.approx(portable.slope)
    assert (sql[kpi.pk].value_30, sql[kpi.pk].value_90) == (portable.value_30, portable.value_90)
    assert sql[empty.pk].latest_value is None


def test_it_rolls_the_worst_status_up_to_the_parent() -> None:
    use_case = UseCaseFactory()
    business = KPIFactory(use_case=use_case, level="business", baseline_value=100.0)
    operational = KPIFactory(
        use_case=use_case, level="operational", parent=business, baseline_value=100.0
    )
    series(business, {0: 101.0})
    series(operational, {0: 80.0})  # 20% worse than baseline, no target → off track

    snapshots_refresh(as_of=AS_OF)

    assert Snapshot.objects.get(kpi=business).status == "on_track"
    assert Snapshot.objects.get(kpi=business).rolled_up_status == "off_track"
    assert Snapshot.objects.get(kpi=operational).rolled_up_status == "off_track"


def test_it_is_no_data_when_nothing_arrived_within_two_periods() -> None:
    kpi = KPIFactory(cadence="weekly", baseline_value=1.0)
    series(kpi, {15: 1.0})
    snapshots_refresh(as_of=AS_OF)
    assert Snapshot.objects.get(kpi=kpi).status == "no_data"


def test_it_gives_the_same_result_when_run_twice() -> None:
    kpi = KPIFactory(baseline_value=100.0, alert_after_snapshots=1)
    series(kpi, {0: 50.0, 1: 60.0})
    snapshots_refresh(as_of=AS_OF)
    first = Snapshot.objects.values().get(kpi=kpi)
    snapshots_refresh(as_of=AS_OF)
    second = Snapshot.objects.values().get(kpi=kpi)

    ignore = {"computed_at", "run_id", "id"}
    assert {k: v for k, v in first.items() if k not in ignore} == {
        k: v for k, v in second.items() if k not in ignore
    }
    assert Snapshot.objects.count() == 1 and RefreshRun.objects.count() == 2
    assert Alert.objects.get(kpi=kpi).consecutive == 1


def test_an_incremental_refresh_covers_the_touched_use_cases_only() -> None:
    touched = KPIFactory(baseline_value=1.0)
    sibling = KPIFactory(use_case=touched.use_case, level="operational", parent=touched)
    elsewhere = KPIFactory()
    run = snapshots_refresh(kpi_ids=[touched.pk], as_of=AS_OF)
    assert run.full is False and run.kpis_refreshed == 2
    assert set(Snapshot.objects.values_list("kpi_id", flat=True)) == {touched.pk, sibling.pk}
    assert not Snapshot.objects.filter(kpi=elsewhere).exists()


def test_a_past_refresh_does_not_move_the_current_snapshot() -> None:
    kpi = KPIFactory()
    series(kpi, {0: 1.0, 10: 2.0})
    snapshots_refresh(as_of=AS_OF)
    snapshots_refresh(as_of=AS_OF - timedelta(days=7))
    kpi.refresh_from_db()
    assert kpi.current_snapshot.as_of == AS_OF
    assert kpi.snapshots.count() == 2


def test_a_slip_is_pending_until_it_lasts_then_fires_once_and_emails_the_owner(
    make_user: Any, run_outbox: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://opsai.example.com"
    owner = make_user("Ops lead", username="kpi-owner")
    kpi = KPIFactory(
        owner=owner, baseline_value=100.0, guardrail_threshold=70.0, alert_after_snapshots=3
    )
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    kpi_alert_fired.connect(receiver)
    try:
        for offset, value in enumerate([60.0, 61.0, 62.0, 63.0]):
            day = AS_OF + timedelta(days=offset)
            MeasurementFactory(kpi=kpi, timestamp=at(day), value=value)
            snapshots_refresh(as_of=day)
            alert = Alert.objects.get(kpi=kpi, reason="guardrail")
            expected_state = "pending" if offset < 2 else "firing"
            assert (alert.state, alert.consecutive) == (expected_state, offset + 1)
    finally:
        kpi_alert_fired.disconnect(receiver)

    assert [r["reason"] for r in received] == ["guardrail"]  # fired once, not on every snapshot
    assert received[0]["kpi"] == kpi and received[0]["alert"] == alert
    assert mail.outbox == []  # recorded in the refresh's transaction; a worker sends it
    assert run_outbox("opsai.tasks.email_send") == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [owner.email]
    assert "guardrail" in mail.outbox[0].subject.lower()
    # A link the owner can click from their mail client: absolute, to the KPI's page.
    assert f"https://opsai.example.com/kpis/{kpi.pk}/" in mail.outbox[0].body
    # Back above the guardrail: resolved.
    MeasurementFactory(kpi=kpi, timestamp=at(AS_OF + timedelta(days=4)), value=99.0)
    snapshots_refresh(as_of=AS_OF + timedelta(days=4))
    assert Alert.objects.get(kpi=kpi, reason="guardrail").state == "resolved"


def test_one_noisy_value_pages_nobody() -> None:
    kpi = KPIFactory(baseline_value=100.0, guardrail_threshold=70.0, alert_after_snapshots=2)
    MeasurementFactory(kpi=kpi, timestamp=at(AS_OF), value=10.0)
    snapshots_refresh(as_of=AS_OF)
    MeasurementFactory(kpi=kpi, timestamp=at(AS_OF + timedelta(days=1)), value=100.0)
    snapshots_refresh(as_of=AS_OF + timedelta(days=1))
    alert = Alert.objects.get(kpi=kpi)
    assert alert.state == "resolved" and alert.fired_at is None
    assert len(mail.outbox) == 0


def test_replaying_past_days_does_not_reopen_a_resolved_alert() -> None:
    kpi = KPIFactory(baseline_value=100.0, guardrail_threshold=70.0, alert_after_snapshots=1)
    MeasurementFactory(kpi=kpi, timestamp=at(AS_OF), value=10.0)
    MeasurementFactory(kpi=kpi, timestamp=at(AS_OF + timedelta(days=1)), value=100.0)
    for _ in range(2):
        snapshots_refresh(as_of=AS_OF)
        snapshots_refresh(as_of=AS_OF + timedelta(days=1))
    assert list(Alert.objects.values_list("state", flat=True)) == ["resolved"]


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_give_the_same_result_as_one() -> None:
    import threading

    from django.db import connection as main_connection

    kpi = KPIFactory(baseline_value=100.0, guardrail_threshold=70.0, alert_after_snapshots=1)
    series(kpi, {0: 10.0, 1: 20.0})
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def refresh() -> None:
        from django.db import connection

        try:
            barrier.wait()
            snapshots_refresh(as_of=AS_OF)
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert main_connection.vendor == "postgresql"
    assert Snapshot.objects.filter(kpi=kpi).count() == 1
    assert Snapshot.objects.get(kpi=kpi).latest_value == 10.0
    assert list(Alert.objects.values_list("state", "consecutive")) == [("firing", 1)]
    assert RefreshRun.objects.filter(finished_at__isnull=False, error="").count() == 2


def test_a_failed_refresh_records_its_error_and_saves_nothing(monkeypatch: Any) -> None:
    from kpis import snapshots

    kpi = KPIFactory()
    series(kpi, {0: 1.0})

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(snapshots, "snapshots_store", broken)
    with pytest.raises(RuntimeError):
        snapshots_refresh(as_of=AS_OF)

    run = RefreshRun.objects.get()
    assert run.error == "RuntimeError: database went away" and run.finished_at is not None
    assert not Snapshot.objects.exists()


def test_a_money_value_too_large_to_store_does_not_fail_the_refresh() -> None:
    # 1e12 units better than baseline at 1,000 a unit is 1e15: over numeric(16, 2).
    huge = KPIFactory(direction="up", baseline_value=0.0, value_per_unit=1000)
    sane = KPIFactory(direction="up", baseline_value=10.0, value_per_unit=2)
    series(huge, {0: 1e12})
    series(sane, {0: 15.0})

    run = snapshots_refresh(as_of=AS_OF)

    assert run.error == "" and run.kpis_refreshed == 2
    assert Snapshot.objects.get(kpi=huge).realised_value is None
    assert Snapshot.objects.get(kpi=huge).latest_value == 1e12
    assert Snapshot.objects.get(kpi=sane).realised_value == 10


def test_a_back_filled_day_dates_its_alert_on_that_day() -> None:
    kpi = KPIFactory(baseline_value=100.0, guardrail_threshold=70.0, alert_after_snapshots=1)
    series(kpi, {0: 60.0})

    snapshots_refresh(as_of=AS_OF)  # AS_OF lies in the past: a replay of history

    alert = Alert.objects.get(kpi=kpi, reason="guardrail")
    assert alert.state == "firing"
    assert alert.fired_at.astimezone(UTC).date() == AS_OF
    assert alert.started_at.astimezone(UTC).date() == AS_OF


def test_a_kpi_it_cannot_compute_is_recorded_and_the_rest_refresh() -> None:
    """GIVEN a measurement dated before year 1 in UTC, written by SQL past every edge check
    WHEN the full refresh runs
    THEN that KPI is named in the run's error, and every other KPI still gets its snapshot.
    """
    good, bad, other = KPIFactory(), KPIFactory(), KPIFactory()
    series(good, {0: 5.0})
    series(other, {1: 7.0})
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO kpis_measurement (kpi_id, timestamp, value, source)"
            " VALUES (%s, '0001-01-01 00:00:00+14', 1.0, 'api')",
            [bad.pk],
        )
    run = snapshots_refresh(as_of=AS_OF)
    assert run.finished_at is not None and run.kpis_refreshed == 2
    assert run.error.startswith(f"KPI {bad.pk} not refreshed: ")
    assert RefreshRun.objects.get(pk=run.pk).error == run.error
    snapshots = dict(Snapshot.objects.filter(as_of=AS_OF).values_list("kpi_id", "latest_value"))
    assert snapshots == {good.pk: 5.0, other.pk: 7.0}
