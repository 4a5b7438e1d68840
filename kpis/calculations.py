"""KPI maths as pure functions: change, progress, status, roll-up, slip steps, value.

Imports nothing from Django so it is tested on tiny inputs; selectors and the
snapshot refresh feed it plain numbers and dates, and store what it returns.
Status strings are the values of ``kpis.choices.Status``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA = "on_track", "at_risk", "off_track", "no_data"
# Worst wins when statuses roll up: missing data hides more than a small slip would.
SEVERITY = {ON_TRACK: 0, NO_DATA: 1, AT_RISK: 2, OFF_TRACK: 3}
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31}
STALE_AFTER_PERIODS = 2  # no value within two cadence periods = no data
# A level target (stay at or above / below) may miss by this share of the target and be at risk.
LEVEL_TOLERANCE = 0.05
# A dated target (increase/decrease to): progress behind the straight line from the baseline
# to the target by at most ON_TRACK_GAP is on track, by at most AT_RISK_GAP at risk.
ON_TRACK_GAP = 0.10
AT_RISK_GAP = 0.25
# Without a target, a KPI is judged by its change against the baseline in its good direction.
NO_TARGET_SLIP = 0.02
NO_TARGET_OFF = 0.10


@dataclass(frozen=True)
class KpiFacts:
    """What the status rules look at for one KPI as of one day."""

    direction: str  # "up" or "down": which way is better
    cadence: str
    as_of: date
    latest_value: float | None
    latest_on: date | None
    baseline: float | None = None
    target_value: float | None = None
    target_type: str = ""  # at_least, at_most, increase_to, decrease_to or ""
    target_date: date | None = None
    start_on: date | None = None  # when the move from baseline to target began (baseline end)
    guardrail: float | None = None


def change(latest: float | None, baseline: float | None) -> tuple[float | None, float | None]:
    """Absolute and relative (%) change of ``latest`` against ``baseline``."""
    if latest is None or baseline is None:
        return None, None
    absolute = latest - baseline
    percent = absolute / abs(baseline) * 100 if baseline else None
    return absolute, percent


def progress_to_target(
    latest: float | None, baseline: float | None, target: float | None
) -> float | None:
    """Share of the way from baseline to target covered (1.0 = reached; may exceed 1 or go negative)."""
    if latest is None or baseline is None or target is None or target == baseline:
        return None
    return (latest - baseline) / (target - baseline)


def expected_progress(start_on: date | None, target_date: date | None, as_of: date) -> float | None:
    """Where a straight line from the start to the target date would be today (0–1)."""
    if start_on is None or target_date is None:
        return None
    if target_date <= start_on:
        return 1.0
    share = (as_of - start_on).days / (target_date - start_on).days
    return min(max(share, 0.0), 1.0)


def is_stale(latest_on: date | None, as_of: date, cadence: str) -> bool:
    """True when there is no value within two cadence periods of ``as_of``."""
    if latest_on is None:
        return True
    return (as_of - latest_on).days > STALE_AFTER_PERIODS * CADENCE_DAYS.get(cadence, 1)


def guardrail_breached(value: float | None, guardrail: float | None, direction: str) -> bool:
    """True when ``value`` is on the bad side of the guardrail."""
    if value is None or guardrail is None:
        return False
    return value < guardrail if direction == "up" else value > guardrail


def good_change(absolute: float | None, direction: str) -> float | None:
    """The change signed so that positive is better, whatever the KPI's direction."""
    if absolute is None:
        return None
    return absolute if direction == "up" else -absolute


def status(facts: KpiFacts) -> str:
    """The computed status of one KPI: on track, at risk, off track or no data."""
    if facts.latest_value is None or is_stale(facts.latest_on, facts.as_of, facts.cadence):
        return NO_DATA
    latest = facts.latest_value
    if guardrail_breached(latest, facts.guardrail, facts.direction):
        return OFF_TRACK
    target = facts.target_value
    if facts.target_type in ("at_least", "at_most") and target is not None:
        meets = latest >= target if facts.target_type == "at_least" else latest <= target
        if meets:
            return ON_TRACK
        miss = abs(latest - target) / abs(target) if target else float("inf")
        return AT_RISK if miss <= LEVEL_TOLERANCE else OFF_TRACK
    if facts.target_type in ("increase_to", "decrease_to") and target is not None:
        progress = progress_to_target(latest, facts.baseline, target)
        expected = expected_progress(facts.start_on, facts.target_date, facts.as_of)
        if progress is not None and expected is not None:
            if progress >= 1:
                return ON_TRACK
            gap = expected - progress
            if gap <= ON_TRACK_GAP:
                return ON_TRACK
            return AT_RISK if gap <= AT_RISK_GAP else OFF_TRACK
    # No (usable) target: judge the change against the baseline in the good direction.
    absolute, _ = change(latest, facts.baseline)
    better = good_change(absolute, facts.direction)
    if better is None or not facts.baseline:
        return ON_TRACK
    relative = better / abs(facts.baseline)
    if relative >= -NO_TARGET_SLIP:
        return ON_TRACK
    return AT_RISK if relative >= -NO_TARGET_OFF else OFF_TRACK


def worst(statuses: Sequence[str]) -> str:
    """The worst of ``statuses`` (off track > at risk > no data > on track)."""
    return max(statuses, key=lambda s: SEVERITY[s]) if statuses else NO_DATA


def roll_up(parents: Mapping[int, int | None], own: Mapping[int, str]) -> dict[int, str]:
    """Each KPI's rolled-up status: the worst of its own and all its descendants'.

    ``parents`` maps KPI id → parent id; ``own`` maps KPI id → own status. KPIs
    missing from ``own`` are skipped. Cycles (which the models forbid) are cut.
    """
    children: dict[int, list[int]] = {}
    for kpi_id, parent_id in parents.items():
        if parent_id is not None:
            children.setdefault(parent_id, []).append(kpi_id)
    result: dict[int, str] = {}

    def visit(kpi_id: int, path: frozenset[int]) -> str:
        if kpi_id in result:
            return result[kpi_id]
        statuses = [own[kpi_id]] if kpi_id in own else []
        for child in children.get(kpi_id, []):
            if child not in path:
                statuses.append(visit(child, path | {child}))
        result[kpi_id] = worst(statuses)
        return result[kpi_id]

    for kpi_id in own:
        visit(kpi_id, frozenset({kpi_id}))
    return {kpi_id: result[kpi_id] for kpi_id in own}


def slope_per_day(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(day, value)`` points (what PostgreSQL's regr_slope returns)."""
    n = len(points)
    if n < 2:
        return None
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx


def realised_value(
    absolute_change: float | None, direction: str, value_per_unit: float | None
) -> float | None:
    """Money per year the KPI's movement against its baseline is worth (negative if it got worse)."""
    better = good_change(absolute_change, direction)
    if better is None or value_per_unit is None:
        return None
    return better * value_per_unit


@dataclass(frozen=True)
class AlertStep:
    """What a slip alert should do after one snapshot: ``action`` is one of
    ``none``, ``open`` (new pending alert), ``count`` (still pending, one more),
    ``fire`` (pending → firing), ``hold`` (already firing) or ``resolve``."""

    action: str
    consecutive: int


def alert_step(
    *,
    state: str | None,
    consecutive: int,
    last_as_of: date | None,
    bad: bool,
    as_of: date,
    needed: int,
) -> AlertStep:
    """Advance a slip alert by one snapshot, as Grafana's pending period does.

    ``state`` is the open alert's state (``pending``/``firing``) or ``None``. A
    KPI must be bad for ``needed`` consecutive snapshot days before the alert
    fires, so one noisy value pages nobody. Seeing the same day twice changes
    nothing, which keeps the refresh idempotent.
    """
    if state is None:
        if not bad:
            return AlertStep("none", 0)
        return AlertStep("fire" if needed <= 1 else "open", 1)
    if last_as_of is not None and as_of <= last_as_of:
        return AlertStep("none", consecutive)
    if not bad:
        return AlertStep("resolve", consecutive)
    count = consecutive + 1
    if state == "pending":
        return AlertStep("fire" if count >= needed else "count", count)
    return AlertStep("hold", count)
