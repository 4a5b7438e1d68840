"""What the portfolio dashboard computes: value by bucket, movers, pilot purgatory, the stack tree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kpis.selectors import portfolio_dashboard, stack_order
from kpis.snapshots import snapshots_refresh
from tests.factories import TeamFactory, UseCaseFactory
from tests.kpis.factories import KPIFactory, MeasurementFactory
from usecases.selectors import usecase_value_estimate

pytestmark = pytest.mark.django_db


def business_kpi(
    *, stage: str, days_in_stage: int, values: list[float], direction: str = "up", **kwargs
):
    use_case = UseCaseFactory(
        stage=stage, stage_entered_at=timezone.now() - timedelta(days=days_in_stage), **kwargs
    )
    kpi = KPIFactory(use_case=use_case, level="business", direction=direction, baseline_value=values[0],
                     value_per_unit=Decimal("10"))  # fmt: skip
    today = timezone.now().astimezone(UTC).date()
    for days_ago, value in zip((60, 30, 0), values, strict=True):
        MeasurementFactory(kpi=kpi, value=value,
                           timestamp=datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), tzinfo=UTC))  # fmt: skip
    return kpi


def test_it_lists_pilots_stuck_without_business_kpi_movement() -> None:
    stuck = business_kpi(stage="pilot", days_in_stage=70, values=[100.0, 100.5, 100.8])
    business_kpi(stage="pilot", days_in_stage=70, values=[100.0, 110.0, 120.0])  # moved
    business_kpi(stage="pilot", days_in_stage=20, values=[100.0, 100.0, 100.0])  # too young
    snapshots_refresh()

    assert [kpi.pk for kpi in portfolio_dashboard()["purgatory"]] == [stuck.pk]


def test_it_ranks_movers_in_each_kpis_good_direction() -> None:
    up = business_kpi(stage="production", days_in_stage=90, values=[100.0, 100.0, 120.0])
    down_is_good = business_kpi(
        stage="production", days_in_stage=90, values=[50.0, 50.0, 45.0], direction="down"
    )
    worse = business_kpi(stage="production", days_in_stage=90, values=[100.0, 100.0, 90.0])
    snapshots_refresh()

    dashboard = portfolio_dashboard()
    assert [k.pk for k in dashboard["movers_up"]] == [up.pk, down_is_good.pk]  # +20%, +10%
    assert [k.pk for k in dashboard["movers_down"]] == [worse.pk]
    # 10% worse than baseline with no target: at risk (beyond 10% would be off track).
    assert (
        dashboard["status_counts"]["on_track"] == 2 and dashboard["status_counts"]["at_risk"] == 1
    )


def test_it_sums_realised_and_estimated_value_by_bucket() -> None:
    team = TeamFactory(name="Finance", hourly_cost=Decimal("60"))
    business_kpi(stage="production", days_in_stage=90, values=[100.0, 100.0, 130.0], value_bucket="cost", team=team,
                 cases_per_week=100, minutes_per_case=Decimal("6"), expected_automation_share=Decimal("0.5"))  # fmt: skip
    # A rejected use case counts neither in the estimate nor in the value realised.
    business_kpi(stage="rejected", days_in_stage=90, values=[100.0, 100.0, 200.0], value_bucket="cost", team=team,
                 cases_per_week=100, minutes_per_case=Decimal("6"), expected_automation_share=Decimal("0.5"))  # fmt: skip
    snapshots_refresh()

    buckets = portfolio_dashboard()["buckets"]
    assert buckets["cost"]["realised"] == pytest.approx(300.0)  # +30 units × £10
    assert buckets["cost"]["estimated"] == pytest.approx(100 * 6 / 60 * 0.5 * 60 * 52)
    assert buckets["revenue"] == {"realised": 0.0, "estimated": 0.0}


def test_it_estimates_a_use_case_value_from_its_intake_fields() -> None:
    team = TeamFactory(name="Support", hourly_cost=Decimal("45"))
    use_case = UseCaseFactory(team=team, cases_per_week=4000, minutes_per_case=Decimal("6"),
                              expected_automation_share=Decimal("0.5"))  # fmt: skip
    assert usecase_value_estimate(use_case).cost_per_year == pytest.approx(
        4000 * 0.1 * 0.5 * 45 * 52
    )
    assert usecase_value_estimate(UseCaseFactory()).cost_per_year is None


def test_it_orders_the_stack_as_a_tree_and_flags_vanity_metrics() -> None:
    use_case = UseCaseFactory()
    business = KPIFactory(use_case=use_case, level="business")
    model_orphan = KPIFactory(use_case=use_case, level="model", name="Tokens per day")
    operational = KPIFactory(use_case=use_case, level="operational", parent=business)
    model = KPIFactory(use_case=use_case, level="model", parent=operational)

    ordered = [
        (kpi.pk, depth, vanity)
        for kpi, depth, vanity in stack_order([model, model_orphan, operational, business])
    ]
    assert ordered == [
        (business.pk, 0, False),
        (operational.pk, 1, False),
        (model.pk, 2, False),
        (model_orphan.pk, 0, True),
    ]
