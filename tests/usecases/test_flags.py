"""Derived flags in PostgreSQL (for filtering and sorting) agree with the rules, at every boundary."""

from decimal import Decimal

import pytest

from tests.usecases.factories import make_use_case, rate
from usecases.selectors import scoring_model_current, usecase_flags, usecase_portfolio
from usecases.services import scoring_model_create

pytestmark = pytest.mark.django_db


def flags_of(use_case):
    """(SQL flags, Python flags) of a use case, keyed by flag."""
    model = scoring_model_current()
    row = usecase_portfolio(scoring_model=model).get(pk=use_case.pk)
    python = {flag.key: flag.on for flag in usecase_flags(row, model)}
    sql = {key: getattr(row, key) for key in python}
    return sql, python


@pytest.mark.parametrize(
    ("overrides", "hit"),
    [
        ({}, True),  # collections outreach: rules 4, daily, 900/week, 25% reworked
        ({"rules_clarity": 3}, True),
        ({"rules_clarity": 2}, False),
        ({"frequency": "weekly"}, True),
        ({"frequency": "monthly"}, False),
        ({"cases_per_week": 50}, True),
        ({"cases_per_week": 49}, False),
        ({"rework_share": Decimal("0.100")}, True),
        ({"rework_share": Decimal("0.099")}, False),
    ],
)
def test_radar_hit_at_its_boundaries(ops_lead, overrides, hit):
    use_case = make_use_case(ops_lead, **overrides)
    sql, python = flags_of(use_case)
    assert sql["radar_hit"] is python["radar_hit"] is hit


def test_radar_thresholds_come_from_the_scoring_model(ops_lead, admin_user):
    use_case = make_use_case(ops_lead, cases_per_week=900)
    assert flags_of(use_case)[0]["radar_hit"]
    scoring_model_create(actor=admin_user, radar_min_cases_per_week=901)
    sql, python = flags_of(use_case)
    assert sql["radar_hit"] is python["radar_hit"] is False


@pytest.mark.parametrize(
    ("second_sheet", "overrides", "win"),
    [
        ((4, 4, 3, 3, 3), {}, True),  # means exactly 4 and 4
        ((3, 4, 3, 3, 3), {}, False),  # value mean 3.5
        ((4, 3, 3, 3, 3), {}, False),  # feasibility mean 3.5
        ((4, 4, 3, 3, 3), {"kpis_touched": 2}, False),
        ((4, 4, 3, 3, 3), {"teams_touched": 2}, False),
        (None, {}, True),  # one scorer, 4 and 4
    ],
)
def test_quick_win_at_its_boundaries(ops_lead, make_user, second_sheet, overrides, win):
    use_case = make_use_case(ops_lead, **overrides)
    rate(use_case, ops_lead, 4, 4, 3, 3, 3)
    if second_sheet:
        rate(use_case, make_user("Ops lead", username="second"), *second_sheet)
    sql, python = flags_of(use_case)
    assert sql["quick_win"] is python["quick_win"] is win


def test_an_unscored_use_case_is_no_quick_win(ops_lead):
    sql, python = flags_of(make_use_case(ops_lead))
    assert sql["quick_win"] is python["quick_win"] is False


@pytest.mark.parametrize(("approvals", "thriller"), [(4, False), (5, True), (6, True)])
def test_political_thriller_at_five_approvals(ops_lead, approvals, thriller):
    sql, python = flags_of(make_use_case(ops_lead, approvals_needed=approvals))
    assert sql["political_thriller"] is python["political_thriller"] is thriller


@pytest.mark.parametrize(
    ("other_value", "calibrate"), [(4, False), (5, False), (2, True), (3, True)]
)
def test_needs_calibration_when_scorers_are_two_points_apart(
    ops_lead, make_user, other_value, calibrate
):
    use_case = make_use_case(ops_lead)
    rate(use_case, ops_lead, 3, 4, 4, 4, 4)
    rate(use_case, make_user("Ops lead", username="second"), 3, other_value, 4, 4, 4)
    if other_value == 3:
        rate(use_case, make_user("Ops lead", username="third"), 3, 5, 4, 4, 4)  # 3 and 5 → 2 apart
    sql, python = flags_of(use_case)
    assert sql["needs_calibration"] is python["needs_calibration"] is calibrate


def test_flags_filter_the_portfolio_in_the_database(ops_lead):
    thriller = make_use_case(ops_lead, title="Thriller", approvals_needed=7)
    make_use_case(ops_lead, title="Calm", approvals_needed=1)
    assert list(usecase_portfolio().filter(political_thriller=True)) == [thriller]
