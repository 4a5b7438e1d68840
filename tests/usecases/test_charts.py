"""The portfolio's bubble chart: one trace per stage, clickable, sized by estimated value."""

from __future__ import annotations

from decimal import Decimal

from opsai.charts import figure_json
from usecases.charts import LARGEST_BUBBLE_PX, portfolio_figure
from usecases.models import UseCase


def row(pk: int, stage: str, value: float | None, cost: str) -> UseCase:
    use_case = UseCase(pk=pk, title=f"Use case {pk}", stage=stage)
    use_case.mean_value = value
    use_case.mean_feasibility = 3.0 if value is not None else None
    use_case.est_cost = Decimal(cost)
    return use_case


def test_it_draws_one_trace_per_stage_in_lifecycle_order_and_leaves_unscored_out() -> None:
    rows = [row(1, "pilot", 4.0, "1000"), row(2, "idea", 3.333, "4000"), row(3, "idea", None, "9")]

    figure = figure_json(portfolio_figure(rows))

    assert [t["name"] for t in figure["data"]] == ["Idea", "Pilot"]
    idea = figure["data"][0]
    assert idea["y"] == [3.33]
    assert idea["customdata"] == ["/usecases/2/"]  # a click opens the use case
    assert idea["marker"]["sizemode"] == "area"
    assert idea["marker"]["sizeref"] == 2.0 * 4000 / LARGEST_BUBBLE_PX**2


def test_it_has_no_traces_when_nothing_is_scored() -> None:
    assert figure_json(portfolio_figure([row(1, "idea", None, "10")]))["data"] == []
