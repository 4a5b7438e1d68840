"""The scoring maths: weighted score, consensus, spread, flags, value estimate, sensitivity.

Pure Python on plain numbers — nothing from Django — so every rule is tested on
tiny inputs. Selectors feed it rows from PostgreSQL; the same rules are mirrored
as SQL expressions in ``usecases.selectors`` (for filtering and sorting), and a
test keeps both in step at every boundary.

Scores are absolute against the scoring model (1–5 per criterion, weighted mean on
the same 1–5 scale); they are never rescaled relative to other use cases.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

# Criterion key → (label, the question the scorer answers). Higher is always better:
# 5 = most value, quickest to build, cleanest data, fewest systems, least behaviour change.
CRITERIA: dict[str, tuple[str, str]] = {
    "value": ("Value", "Will it move one KPI (time, cost, revenue, risk)?"),
    "feasibility": ("Feasibility", "Can we build it in weeks, not quarters?"),
    "data_readiness": ("Data readiness", "Do we have clean inputs and feedback signals?"),
    "integration_complexity": (
        "Integration complexity",
        "How many systems and APIs are involved? (more systems = lower score)",
    ),
    "change_pain": (
        "Change pain",
        "How much behaviour change is required? (more change = lower score)",
    ),
}
CRITERION_KEYS: tuple[str, ...] = tuple(CRITERIA)

# The score sheets a use case needs before it leaves scoring for review. The scoring model
# sets no minimum number of scorers of its own, so the least that gives a consensus: one
# complete sheet (every criterion scored 1–5 with a rationale — ``score_submit`` takes
# nothing less). Sheets scored under an earlier model version count: versions change
# weights and thresholds, never the criteria.
SHEETS_REQUIRED_FOR_REVIEW = 1

# Frequencies from most to least often; "at least weekly" means daily or weekly.
FREQUENCY_ORDER: tuple[str, ...] = ("daily", "weekly", "monthly", "quarterly")
WEEKS_PER_YEAR = 52


def frequencies_at_least(minimum: str) -> list[str]:
    """The frequencies at least as often as ``minimum`` (``"weekly"`` → daily, weekly)."""
    return list(FREQUENCY_ORDER[: FREQUENCY_ORDER.index(minimum) + 1])


def weighted_score(values: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The weighted mean of the criterion values, on the 1–5 scale of the criteria.

    Every criterion must have a value; a weight of 0 leaves a criterion out.
    """
    total_weight = sum(float(weights[key]) for key in CRITERION_KEYS)
    if total_weight <= 0:
        raise ValueError("At least one weight must be positive.")
    return sum(float(weights[key]) * float(values[key]) for key in CRITERION_KEYS) / total_weight


def round_score(score: float | None) -> Decimal | None:
    """Round a score for storage and display (2 decimals, half up)."""
    if score is None:
        return None
    return Decimal(str(score)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Consensus:
    """What several scorers' sheets say together."""

    scorers: int
    means: dict[str, float]  # criterion → mean value
    spreads: dict[str, int]  # criterion → max − min across scorers
    score: float | None  # weighted score of the means
    spread: int  # the widest criterion spread
    agreement: str  # "high", "medium", "low" or "" with fewer than two scorers
    needs_calibration: bool
    widest: list[str] = field(default_factory=list)  # criteria at the widest spread


def consensus(
    sheets: Sequence[Mapping[str, int]],
    weights: Mapping[str, float],
    *,
    calibration_spread: int,
) -> Consensus:
    """Consensus (weighted score of the per-criterion means), spread and agreement.

    The spread of a criterion is the distance between the highest and the lowest
    score given to it; the use case's spread is the widest. Agreement is *high*
    when every scorer is within one point, *low* — and a calibration talk is
    asked for — when some criterion is ``calibration_spread`` points apart or more.
    """
    if not sheets:
        return Consensus(0, {}, {}, None, 0, "", False)
    means = {key: statistics.fmean(sheet[key] for sheet in sheets) for key in CRITERION_KEYS}
    spreads = {
        key: max(sheet[key] for sheet in sheets) - min(sheet[key] for sheet in sheets)
        for key in CRITERION_KEYS
    }
    spread = max(spreads.values())
    agreement = ""
    if len(sheets) > 1:
        agreement = agreement_level(spread, calibration_spread=calibration_spread)
    return Consensus(
        scorers=len(sheets),
        means=means,
        spreads=spreads,
        score=weighted_score(means, weights),
        spread=spread,
        agreement=agreement,
        needs_calibration=len(sheets) > 1 and spread >= calibration_spread,
        widest=[key for key in CRITERION_KEYS if spreads[key] == spread and spread > 0],
    )


def agreement_level(spread: float, *, calibration_spread: int) -> str:
    """``high`` (within a point), ``low`` (at or past the calibration spread) or ``medium``."""
    if spread >= calibration_spread:
        return "low"
    if spread <= 1:
        return "high"
    return "medium"


def suggest_integration_complexity(systems_count: int) -> int:
    """Pre-suggest the integration-complexity score from how many systems are touched.

    One system (or none) is the easy case (5); each further system costs a point,
    down to 1 for five or more.
    """
    return max(1, min(5, 6 - max(systems_count, 1)))


# --- Derived flags -----------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """A derived flag: whether it holds and why, in words."""

    key: str
    label: str
    on: bool
    reason: str


@dataclass(frozen=True)
class Thresholds:
    """The thresholds of a scoring model that the flags need."""

    radar_min_rules_clarity: int = 3
    radar_min_frequency: str = "weekly"
    radar_min_cases_per_week: int = 50
    radar_min_rework_share: Decimal = Decimal("0.10")
    quick_win_min_value: Decimal = Decimal("4")
    quick_win_min_feasibility: Decimal = Decimal("4")
    political_thriller_min_approvals: int = 5
    calibration_spread: int = 2


def _pct(share: Decimal | float) -> str:
    # Half up, like every percentage shown (opsai.formatting.share).
    return f"{(Decimal(str(share)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"


def radar_flag(
    *,
    rules_clarity: int | None,
    frequency: str,
    cases_per_week: int | None,
    rework_share: Decimal | None,
    thresholds: Thresholds,
) -> Flag:
    """Rework radar: rules + repetition + rework all clear their thresholds."""
    t = thresholds
    checks = []
    rules_ok = rules_clarity is not None and rules_clarity >= t.radar_min_rules_clarity
    checks.append(
        (
            rules_ok,
            f"rules clarity {rules_clarity if rules_clarity is not None else '?'}/5 "
            f"{'≥' if rules_ok else 'below'} {t.radar_min_rules_clarity}",
        )
    )
    frequent = frequency in frequencies_at_least(t.radar_min_frequency)
    volume_ok = cases_per_week is not None and cases_per_week >= t.radar_min_cases_per_week
    checks.append(
        (
            frequent and volume_ok,
            f"{frequency or 'unknown frequency'}"
            f"{'' if frequent else f' (needs {t.radar_min_frequency} or more often)'}, "
            f"{cases_per_week if cases_per_week is not None else '?'} cases/week "
            f"{'≥' if volume_ok else 'below'} {t.radar_min_cases_per_week}",
        )
    )
    rework_ok = rework_share is not None and Decimal(str(rework_share)) >= t.radar_min_rework_share
    checks.append(
        (
            rework_ok,
            f"{_pct(rework_share) if rework_share is not None else '?'} of cases reworked "
            f"{'≥' if rework_ok else 'below'} {_pct(t.radar_min_rework_share)}",
        )
    )
    on = all(ok for ok, _ in checks)
    if on:
        reason = "Rules, repetition and rework all clear: " + "; ".join(t for _, t in checks)
    else:
        reason = "Not a radar hit: " + "; ".join(text for ok, text in checks if not ok)
    return Flag("radar_hit", "Radar hit", on, reason)


def quick_win_flag(
    *,
    value: float | None,
    feasibility: float | None,
    kpis_touched: int | None,
    teams_touched: int | None,
    thresholds: Thresholds,
) -> Flag:
    """Quick win: high value and feasibility (consensus), one KPI, one team."""
    t = thresholds
    problems = []
    if value is None and feasibility is None:
        # No sheet yet: "value ? below 4" would read as a score, not as its absence.
        problems.append("not scored yet")
    else:
        if value is None or Decimal(str(value)) < t.quick_win_min_value:
            problems.append(f"value {_fmt(value)} below {_fmt(t.quick_win_min_value)}")
        if feasibility is None or Decimal(str(feasibility)) < t.quick_win_min_feasibility:
            problems.append(
                f"feasibility {_fmt(feasibility)} below {_fmt(t.quick_win_min_feasibility)}"
            )
    if kpis_touched != 1:
        problems.append(
            f"touches {kpis_touched if kpis_touched is not None else '?'} KPIs, not one"
        )
    if teams_touched != 1:
        problems.append(
            f"touches {teams_touched if teams_touched is not None else '?'} teams, not one"
        )
    if problems:
        return Flag("quick_win", "Quick win", False, "Not a quick win: " + "; ".join(problems))
    return Flag(
        "quick_win",
        "Quick win",
        True,
        f"Value {_fmt(value)} and feasibility {_fmt(feasibility)} ≥ "
        f"{_fmt(t.quick_win_min_value)}, one KPI, one team",
    )


def political_thriller_flag(*, approvals_needed: int | None, thresholds: Thresholds) -> Flag:
    """Political thriller: it needs five (the model's threshold) or more approvals."""
    minimum = thresholds.political_thriller_min_approvals
    on = approvals_needed is not None and approvals_needed >= minimum
    if on:
        reason = (
            f"Needs {approvals_needed} approvals (≥ {minimum}): "
            "if it needs five approvals before lunch, it's not a pilot"
        )
    elif approvals_needed is None:
        reason = f"Approvals needed not given (a thriller needs {minimum} or more)"
    else:
        noun = "approval" if approvals_needed == 1 else "approvals"
        reason = f"Needs {approvals_needed} {noun}, fewer than {minimum}"
    return Flag("political_thriller", "Political thriller", on, reason)


def calibration_flag(*, spread: int | None, scorers: int, thresholds: Thresholds) -> Flag:
    """Needs calibration: two or more scorers are ``calibration_spread`` points apart."""
    minimum = thresholds.calibration_spread
    on = scorers > 1 and spread is not None and spread >= minimum
    if on:
        reason = f"Scorers are {spread} points apart on a criterion (≥ {minimum}): talk it through"
    elif scorers < 2:
        reason = "Fewer than two scorers so far"
    else:
        reason = f"Scorers within {spread} point{'' if spread == 1 else 's'} (below {minimum})"
    return Flag("needs_calibration", "Needs calibration", on, reason)


def _fmt(number: float | Decimal | None) -> str:
    """A score or threshold in a flag's reason: half up like every shown score (3.125 →
    3.13), trailing zeros dropped (4.00 → 4)."""
    rounded = round_score(number)
    return "?" if rounded is None else f"{rounded:f}".rstrip("0").rstrip(".")


# --- Value estimate ------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueEstimate:
    """Annual hours and cost saved — an estimate, to be set against realised KPI value."""

    hours_per_year: Decimal | None
    cost_per_year: Decimal | None


def value_estimate(
    *,
    cases_per_week: int | None,
    minutes_per_case: Decimal | None,
    expected_automation_share: Decimal | None,
    hourly_cost: Decimal | None,
) -> ValueEstimate:
    """cases/week × 52 × minutes/60 × expected automation share, and × hourly cost."""
    if cases_per_week is None or minutes_per_case is None or expected_automation_share is None:
        return ValueEstimate(None, None)
    hours = (
        Decimal(cases_per_week)
        * WEEKS_PER_YEAR
        * Decimal(str(minutes_per_case))
        / 60
        * Decimal(str(expected_automation_share))
    )
    cost = None if hourly_cost is None else hours * Decimal(str(hourly_cost))
    return ValueEstimate(
        hours.quantize(Decimal("1"), rounding=ROUND_HALF_UP),
        None if cost is None else cost.quantize(Decimal("1"), rounding=ROUND_HALF_UP),
    )


# --- Sensitivity ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SensitivityCase:
    """One weight moved by a factor: does the top-N order change?"""

    criterion: str
    factor: float
    order: list[object]
    changed: bool


def rank(items: Mapping[object, Mapping[str, float]], weights: Mapping[str, float]) -> list[object]:
    """Keys of ``items`` (key → criterion means) ordered best first; ties keep key order."""
    scored = [
        (weighted_score(values, weights), index, key)
        for index, (key, values) in enumerate(items.items())
    ]
    return [key for _, _, key in sorted(scored, key=lambda row: (-row[0], row[1]))]


def sensitivity(
    items: Mapping[object, Mapping[str, float]],
    weights: Mapping[str, float],
    *,
    top: int = 5,
    step: float = 0.2,
) -> tuple[list[object], list[SensitivityCase]]:
    """The top-``top`` order, and for each weight moved by ±``step`` whether it changes.

    ``items`` maps a use case to its consensus criterion means. A change is any
    difference in who is in the top ``top`` or in their order.
    """
    baseline = rank(items, weights)[:top]
    cases = []
    for criterion in CRITERION_KEYS:
        for factor in (1 - step, 1 + step):
            moved = {**weights, criterion: float(weights[criterion]) * factor}
            order = rank(items, moved)[:top]
            cases.append(SensitivityCase(criterion, round(factor, 4), order, order != baseline))
    return baseline, cases
