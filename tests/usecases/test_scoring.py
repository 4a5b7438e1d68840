"""The pure scoring maths (no database)."""

from decimal import Decimal

import pytest

from usecases import scoring
from usecases.scoring import Thresholds

WEIGHTS = {
    "value": 3,
    "feasibility": 2,
    "data_readiness": 2,
    "integration_complexity": 1.5,
    "change_pain": 1.5,
}


def values(*numbers):
    return dict(zip(scoring.CRITERION_KEYS, numbers, strict=True))


def test_it_weights_the_mean_on_the_criteria_scale():
    assert scoring.weighted_score(values(5, 5, 5, 5, 5), WEIGHTS) == 5
    assert scoring.weighted_score(values(5, 1, 1, 1, 1), WEIGHTS) == pytest.approx(2.2)


def test_a_zero_weight_leaves_a_criterion_out_and_all_zero_is_refused():
    weights = {**WEIGHTS, "change_pain": 0}
    assert scoring.weighted_score(values(3, 3, 3, 3, 1), weights) == 3  # the 1 does not count
    with pytest.raises(ValueError, match="positive"):
        scoring.weighted_score(values(3, 3, 3, 3, 3), dict.fromkeys(WEIGHTS, 0))


def test_it_builds_consensus_spread_and_agreement():
    result = scoring.consensus(
        [values(5, 4, 3, 3, 3), values(3, 4, 3, 3, 4)], WEIGHTS, calibration_spread=2
    )
    assert result.scorers == 2
    assert result.means["value"] == 4
    assert result.spreads == {
        "value": 2, "feasibility": 0, "data_readiness": 0,
        "integration_complexity": 0, "change_pain": 1,
    }  # fmt: skip
    assert result.spread == 2
    assert result.agreement == "low"
    assert result.needs_calibration
    assert result.widest == ["value"]
    assert result.score == pytest.approx(scoring.weighted_score(result.means, WEIGHTS))


@pytest.mark.parametrize(
    ("spread", "agreement"), [(0, "high"), (1, "high"), (2, "medium"), (3, "low")]
)
def test_agreement_levels_at_their_boundaries(spread, agreement):
    assert scoring.agreement_level(spread, calibration_spread=3) == agreement


def test_one_scorer_has_no_agreement_level_and_no_calibration():
    result = scoring.consensus([values(1, 5, 1, 5, 1)], WEIGHTS, calibration_spread=2)
    assert result.agreement == ""
    assert not result.needs_calibration
    assert scoring.consensus([], WEIGHTS, calibration_spread=2).score is None


@pytest.mark.parametrize(
    ("systems", "suggested"), [(0, 5), (1, 5), (2, 4), (3, 3), (4, 2), (5, 1), (7, 1)]
)
def test_it_suggests_integration_complexity_from_the_systems_count(systems, suggested):
    assert scoring.suggest_integration_complexity(systems) == suggested


def test_the_value_estimate_is_volume_times_minutes_times_automation_times_cost():
    estimate = scoring.value_estimate(
        cases_per_week=900,
        minutes_per_case=Decimal("12"),
        expected_automation_share=Decimal("0.5"),
        hourly_cost=Decimal("45"),
    )
    assert estimate.hours_per_year == Decimal("4680")  # 900 × 52 × 12/60 × 0.5
    assert estimate.cost_per_year == Decimal("210600")
    missing = scoring.value_estimate(
        cases_per_week=None, minutes_per_case=Decimal("1"),
        expected_automation_share=Decimal("1"), hourly_cost=Decimal("1"),
    )  # fmt: skip
    assert missing.hours_per_year is None


def test_sensitivity_reports_which_weight_changes_reorder_the_top():
    items = {
        "a": values(5, 2, 3, 3, 3),  # value-heavy
        "b": values(3, 5, 3, 3, 3),  # feasibility-heavy
        "c": values(1, 1, 1, 1, 1),
    }
    weights = dict.fromkeys(scoring.CRITERION_KEYS, 1.0)
    weights["value"] = 1.0
    weights["feasibility"] = 1.0
    # a: (5+2+9)/5 = 3.2 ; b: (3+5+9)/5 = 3.4 → b first
    baseline, cases = scoring.sensitivity(items, {**weights, "value": 1.45}, top=2)
    # a: (7.25+2+9)/5.45 = 3.349 ; b: (4.35+5+9)/5.45 = 3.367 → b still first, but close
    assert baseline == ["b", "a"]
    by_key = {(case.criterion, case.factor): case for case in cases}
    assert len(cases) == 10
    assert by_key[("value", 1.2)].changed  # value weight up → a overtakes b
    assert by_key[("value", 1.2)].order == ["a", "b"]
    assert not by_key[("value", 0.8)].changed
    assert not by_key[("data_readiness", 1.2)].changed


def test_sensitivity_of_a_clear_leader_is_stable():
    items = {"a": values(5, 5, 5, 5, 5), "b": values(2, 2, 2, 2, 2), "c": values(1, 1, 1, 1, 1)}
    baseline, cases = scoring.sensitivity(items, WEIGHTS, top=3)
    assert baseline == ["a", "b", "c"]
    assert not any(case.changed for case in cases)


# --- Flags, at their boundaries -------------------------------------------------------------

T = Thresholds()


def radar(**overrides):
    args = {
        "rules_clarity": 3,
        "frequency": "weekly",
        "cases_per_week": 50,
        "rework_share": Decimal("0.10"),
    }
    return scoring.radar_flag(**{**args, **overrides}, thresholds=T)


def test_the_radar_hits_exactly_at_every_threshold():
    flag = radar()
    assert flag.on
    assert "Rules, repetition and rework all clear" in flag.reason


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"rules_clarity": 2}, "rules clarity 2/5 below 3"),
        ({"frequency": "monthly"}, "monthly (needs weekly or more often)"),
        ({"cases_per_week": 49}, "49 cases/week below 50"),
        ({"rework_share": Decimal("0.099")}, "10% of cases reworked below 10%"),
        ({"rules_clarity": None}, "rules clarity ?/5 below 3"),
    ],
)
def test_the_radar_misses_just_below_each_threshold_and_says_which(overrides, reason):
    flag = radar(**overrides)
    assert not flag.on
    assert reason in flag.reason


def quick_win(**overrides):
    args = {"value": 4.0, "feasibility": 4.0, "kpis_touched": 1, "teams_touched": 1}
    return scoring.quick_win_flag(**{**args, **overrides}, thresholds=T)


def test_a_quick_win_is_high_value_high_feasibility_one_kpi_one_team():
    assert quick_win().on
    assert "one KPI, one team" in quick_win().reason


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"value": 3.99}, "value 3.99 below 4"),
        ({"feasibility": 3.5}, "feasibility 3.5 below 4"),
        ({"kpis_touched": 2}, "touches 2 KPIs, not one"),
        ({"teams_touched": 2}, "touches 2 teams, not one"),
        ({"value": None}, "value ? below 4"),
        ({"value": None, "feasibility": None}, "Not a quick win: not scored yet"),
    ],
)
def test_a_quick_win_fails_on_each_condition(overrides, reason):
    flag = quick_win(**overrides)
    assert not flag.on
    assert reason in flag.reason


@pytest.mark.parametrize(("approvals", "on"), [(4, False), (5, True), (9, True), (None, False)])
def test_a_political_thriller_needs_five_approvals_or_more(approvals, on):
    flag = scoring.political_thriller_flag(approvals_needed=approvals, thresholds=T)
    assert flag.on is on
    assert ("not a pilot" in flag.reason) is on


@pytest.mark.parametrize(
    ("spread", "scorers", "on"), [(1, 2, False), (2, 2, True), (4, 1, False), (3, 3, True)]
)
def test_calibration_is_asked_for_at_the_spread_threshold_with_two_scorers(spread, scorers, on):
    assert scoring.calibration_flag(spread=spread, scorers=scorers, thresholds=T).on is on


def test_frequencies_at_least_weekly_are_daily_and_weekly():
    assert scoring.frequencies_at_least("weekly") == ["daily", "weekly"]
    assert scoring.frequencies_at_least("quarterly") == ["daily", "weekly", "monthly", "quarterly"]


def test_the_scoring_module_imports_nothing_from_django():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(scoring.__file__).read_text())
    modules = [
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        )
    ]
    assert modules
    assert not [m for m in modules if m and m.startswith("django")]
