"""The pure KPI maths, on small hand-computed cases (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from kpis import calculations as calc

AS_OF = date(2026, 6, 30)


def facts(**overrides: object) -> calc.KpiFacts:
    base = {
        "direction": "up",
        "cadence": "daily",
        "as_of": AS_OF,
        "latest_value": 100.0,
        "latest_on": AS_OF,
        "baseline": 100.0,
    }
    return calc.KpiFacts(**{**base, **overrides})  # type: ignore[arg-type]


def test_it_computes_change_against_the_baseline() -> None:
    assert calc.change(120.0, 100.0) == (20.0, 20.0)
    assert calc.change(90.0, -100.0) == (190.0, 190.0)
    assert calc.change(5.0, 0.0) == (5.0, None)
    assert calc.change(None, 100.0) == (None, None)


def test_it_computes_progress_to_target() -> None:
    assert calc.progress_to_target(110.0, 100.0, 120.0) == pytest.approx(0.5)
    # A lower-is-better KPI: 4.20 → 3.60 target, now 3.90 = half way.
    assert calc.progress_to_target(3.90, 4.20, 3.60) == pytest.approx(0.5)
    assert calc.progress_to_target(95.0, 100.0, 120.0) == pytest.approx(-0.25)
    assert calc.progress_to_target(100.0, 100.0, 100.0) is None


def test_it_is_no_data_without_a_value_within_two_cadence_periods() -> None:
    assert calc.status(facts(latest_value=None, latest_on=None)) == calc.NO_DATA
    assert calc.status(facts(latest_on=date(2026, 6, 28))) == calc.ON_TRACK  # 2 days: fresh
    assert calc.status(facts(latest_on=date(2026, 6, 27))) == calc.NO_DATA  # 3 days: stale
    weekly = facts(cadence="weekly", latest_on=date(2026, 6, 16))  # 14 days
    assert calc.status(weekly) == calc.ON_TRACK
    assert calc.status(facts(cadence="weekly", latest_on=date(2026, 6, 15))) == calc.NO_DATA


@pytest.mark.parametrize(
    ("target_type", "target", "latest", "expected"),
    [
        ("at_least", 100.0, 100.0, calc.ON_TRACK),
        ("at_least", 100.0, 96.0, calc.AT_RISK),  # 4% short: within 5%
        ("at_least", 100.0, 94.0, calc.OFF_TRACK),  # 6% short
        ("at_most", 50.0, 49.0, calc.ON_TRACK),
        ("at_most", 50.0, 52.0, calc.AT_RISK),  # 4% over
        ("at_most", 50.0, 60.0, calc.OFF_TRACK),
    ],
)
def test_it_judges_level_targets(
    target_type: str, target: float, latest: float, expected: str
) -> None:
    assert (
        calc.status(facts(target_type=target_type, target_value=target, latest_value=latest))
        == expected
    )


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        # Baseline 100, target 200 by 31 Dec from 1 Jan: on 30 Jun ~49.6% of the way expected.
        (145.0, calc.ON_TRACK),  # 45% done: 4.6 points behind the line
        (130.0, calc.AT_RISK),  # 30% done: 19.6 points behind
        (120.0, calc.OFF_TRACK),  # 20% done: 29.6 points behind
        (200.0, calc.ON_TRACK),  # target reached
    ],
)
def test_it_judges_dated_targets_against_a_straight_line(latest: float, expected: str) -> None:
    kpi = facts(
        latest_value=latest,
        target_type="increase_to",
        target_value=200.0,
        start_on=date(2026, 1, 1),
        target_date=date(2026, 12, 31),
    )
    assert calc.expected_progress(date(2026, 1, 1), date(2026, 12, 31), AS_OF) == pytest.approx(
        180 / 364
    )
    assert calc.status(kpi) == expected


def test_it_judges_a_decrease_target_the_same_way() -> None:
    kpi = facts(
        direction="down",
        baseline=4.20,
        latest_value=4.00,
        target_type="decrease_to",
        target_value=3.60,
        start_on=date(2026, 1, 1),
        target_date=date(2026, 3, 1),  # past: the whole way is expected
    )
    assert calc.status(kpi) == calc.OFF_TRACK  # only a third of the way
    assert calc.status(facts(**{**kpi.__dict__, "latest_value": 3.62})) == calc.ON_TRACK


def test_it_judges_a_kpi_without_target_by_its_change_in_the_good_direction() -> None:
    assert calc.status(facts(latest_value=99.0)) == calc.ON_TRACK  # 1% worse: noise
    assert calc.status(facts(latest_value=95.0)) == calc.AT_RISK  # 5% worse
    assert calc.status(facts(latest_value=85.0)) == calc.OFF_TRACK  # 15% worse
    assert calc.status(facts(direction="down", latest_value=85.0)) == calc.ON_TRACK


def test_it_is_off_track_past_the_guardrail_whatever_the_target() -> None:
    assert calc.guardrail_breached(79.0, 80.0, "up")
    assert not calc.guardrail_breached(81.0, 80.0, "up")
    assert calc.guardrail_breached(5.1, 5.0, "down")
    kpi = facts(latest_value=79.0, guardrail=80.0, target_type="at_least", target_value=70.0)
    assert calc.status(kpi) == calc.OFF_TRACK


def test_it_rolls_statuses_up_as_the_worst_of_self_and_descendants() -> None:
    parents = {1: None, 2: 1, 3: 2, 4: 1, 5: None}
    own = {1: calc.ON_TRACK, 2: calc.ON_TRACK, 3: calc.AT_RISK, 4: calc.NO_DATA, 5: calc.ON_TRACK}
    assert calc.roll_up(parents, own) == {
        1: calc.AT_RISK,
        2: calc.AT_RISK,
        3: calc.AT_RISK,
        4: calc.NO_DATA,
        5: calc.ON_TRACK,
    }
    assert calc.roll_up({1: None, 2: 1}, {1: calc.AT_RISK, 2: calc.OFF_TRACK})[1] == calc.OFF_TRACK


def test_it_computes_the_least_squares_slope() -> None:
    assert calc.slope_per_day([(0, 1.0), (1, 3.0), (2, 5.0)]) == pytest.approx(2.0)
    assert calc.slope_per_day([(0, 1.0), (1, 2.0), (2, 0.0)]) == pytest.approx(-0.5)
    assert calc.slope_per_day([(0, 1.0)]) is None


def test_it_converts_movement_into_value() -> None:
    # Cost per ticket down £0.50, each £1 worth £208,000 a year.
    assert calc.realised_value(-0.5, "down", 208_000) == pytest.approx(104_000)
    assert calc.realised_value(-0.5, "up", 208_000) == pytest.approx(-104_000)


def test_it_waits_for_consecutive_bad_snapshots_before_an_alert_fires() -> None:
    d1, d2, d3 = date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3)
    first = calc.alert_step(
        state=None, consecutive=0, last_as_of=None, bad=True, as_of=d1, needed=3
    )
    assert first == calc.AlertStep("open", 1)
    same_day = calc.alert_step(
        state="pending", consecutive=1, last_as_of=d1, bad=True, as_of=d1, needed=3
    )
    assert same_day.action == "none"  # idempotent
    second = calc.alert_step(
        state="pending", consecutive=1, last_as_of=d1, bad=True, as_of=d2, needed=3
    )
    assert second == calc.AlertStep("count", 2)
    third = calc.alert_step(
        state="pending", consecutive=2, last_as_of=d2, bad=True, as_of=d3, needed=3
    )
    assert third == calc.AlertStep("fire", 3)
    recovered = calc.alert_step(
        state="pending", consecutive=2, last_as_of=d2, bad=False, as_of=d3, needed=3
    )
    assert recovered.action == "resolve"
    assert (
        calc.alert_step(
            state=None, consecutive=0, last_as_of=None, bad=True, as_of=d1, needed=1
        ).action
        == "fire"
    )
    assert (
        calc.alert_step(
            state=None, consecutive=0, last_as_of=None, bad=False, as_of=d1, needed=1
        ).action
        == "none"
    )


def test_the_module_imports_nothing_from_django() -> None:
    import subprocess
    import sys

    code = "import sys, kpis.calculations; print(sorted(m for m in sys.modules if m.startswith('django')))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
