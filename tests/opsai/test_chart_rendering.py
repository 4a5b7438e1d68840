"""Charts as people read them: no empty axes, ticks that suit the span, nothing clipped,
money in hovers written as on the page (issue 11, "Humane rendering")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from kpis.charts import series_figure, snapshot_history_figure, value_by_bucket_figure
from kpis.models import KPI, Snapshot
from opsai.charts import DAY_MS, figure_json, time_axis
from tests.factories import UseCaseFactory
from tests.kpis.factories import KPIFactory, MeasurementFactory
from usecases.charts import (
    CHART_HEIGHT,
    CHART_MARGIN,
    LARGEST_BUBBLE_PX,
    ChartPoint,
    portfolio_figure,
    score_history_figure,
)
from usecases.models import Score, UseCase

EMPTY_KPI = "No measurements yet for this KPI — the first refresh after data arrives draws it."
EMPTY_STACK = "No measurements yet for these KPIs"
MONDAY = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def assert_shows_dates_not_times(axis: dict[str, Any]) -> None:
    assert axis["type"] == "date"
    assert "%d" in axis["tickformat"] or "%b" in axis["tickformat"]
    for sub_day in ("%L", "%S", "%M", "%H", "%f"):
        assert sub_day not in axis["tickformat"]
    assert axis["dtick"] == DAY_MS or str(axis["dtick"]).startswith("M")


# --- Time axes ----------------------------------------------------------------------------


def test_a_single_point_shows_its_date_with_a_day_either_side() -> None:
    axis = time_axis([MONDAY])
    assert_shows_dates_not_times(axis)
    assert axis["tickformat"] == "%d %b %Y"
    assert axis["range"] == ["2026-03-01", "2026-03-03"]


def test_a_days_worth_of_points_shows_the_day_and_hovers_the_time() -> None:
    """GIVEN three score sheets submitted on one afternoon (the "Score over time" case)
    WHEN the chart is built THEN the ticks are days (not the hours and milliseconds
    plotly.js picks for a span of minutes) and the hover tells the sheets apart."""
    moments = [MONDAY, MONDAY + timedelta(minutes=3), MONDAY + timedelta(hours=5)]
    axis = time_axis(moments)
    assert_shows_dates_not_times(axis)
    assert axis["dtick"] == DAY_MS
    assert axis["hoverformat"] == "%d %b %Y %H:%M"


def test_weeks_of_daily_points_tick_on_mondays() -> None:
    axis = time_axis([date(2026, 1, 1) + timedelta(days=d) for d in range(45)])
    assert axis["dtick"] == 7 * DAY_MS and axis["tick0"] == "2000-01-03"  # a Monday
    assert axis["tickformat"] == "%d %b"
    assert "range" not in axis  # plotly.js fits the data


def test_months_of_points_tick_by_month_and_years_by_year() -> None:
    half_year = time_axis([MONDAY - timedelta(days=180), MONDAY])
    assert (half_year["dtick"], half_year["tickformat"]) == ("M1", "%b %Y")
    five_years = time_axis([MONDAY - timedelta(days=5 * 365), MONDAY])
    assert (five_years["dtick"], five_years["tickformat"]) == ("M12", "%Y")


def test_every_time_chart_uses_the_helper() -> None:
    kpi = KPI(name="Handle time", unit="min")
    series = figure_json(series_figure(kpi, [(MONDAY, 9.0)], [], None))
    history = figure_json(
        snapshot_history_figure([Snapshot(as_of=MONDAY.date(), latest_value=9.0)])
    )
    sheet = Score(
        pk=1, scorer=get_user_model()(username="ops"), submitted_at=MONDAY,
        weighted_score=Decimal("3.50"),
    )  # fmt: skip
    scores = figure_json(score_history_figure([sheet]))
    assert series["layout"]["xaxis"] == time_axis([MONDAY])
    assert scores["layout"]["xaxis"] == time_axis([MONDAY])
    assert history["layout"]["xaxis"] == time_axis([MONDAY.date()])


# --- Nothing to draw --------------------------------------------------------------------


def test_figures_with_nothing_to_draw_are_none() -> None:
    kpi = KPI(name="Handle time", unit="min")
    assert series_figure(kpi, [], [], None) is None
    assert snapshot_history_figure([]) is None
    assert value_by_bucket_figure({"cost": {"estimated": 0, "realised": 0}}) is None
    assert figure_json(None) is None


@pytest.mark.django_db
def test_a_new_use_cases_kpi_stack_says_once_that_nothing_is_measured_yet(
    client: Any, executive: Any
) -> None:
    """GIVEN a use case with a stack of KPIs and no measurements WHEN its KPI page is
    opened THEN no chart is drawn, and one sentence (not one per KPI) says why."""
    use_case = UseCaseFactory()
    parent = None
    for level in ("business", "operational", "leading", "model"):
        parent = KPIFactory(use_case=use_case, level=level, parent=parent)
    client.force_login(executive)

    body = client.get(reverse("kpis:usecase", args=[use_case.pk])).content.decode()

    assert "data-figure=" not in body
    assert body.count('data-testid="chart-empty"') == 1
    assert EMPTY_STACK in body


@pytest.mark.django_db
def test_a_kpi_without_measurements_says_so_beside_one_that_has_a_chart(
    client: Any, executive: Any
) -> None:
    use_case = UseCaseFactory()
    business = KPIFactory(use_case=use_case, level="business", name="Cash collected")
    empty = KPIFactory(use_case=use_case, level="operational", parent=business)
    MeasurementFactory(kpi=business, value=4.0, timestamp=timezone.now() - timedelta(days=1))
    client.force_login(executive)

    stack = client.get(reverse("kpis:usecase", args=[use_case.pk])).content.decode()
    page = client.get(reverse("kpis:kpi", args=[empty.pk])).content.decode()

    assert stack.count("data-figure=") == 1
    assert stack.count(EMPTY_KPI) == 1 and EMPTY_STACK not in stack
    assert "data-figure=" not in page
    assert EMPTY_KPI in page and "No snapshots yet" in page


# --- Nothing clipped ----------------------------------------------------------------------


def test_a_value_5_bubble_has_room_above_it_below_the_toolbar() -> None:
    """GIVEN the largest bubble at value 5 WHEN the portfolio chart is built THEN the
    axis runs far enough past 5 for the bubble's radius and its label, and the top
    margin (where the caption and the toolbar sit) is outside the plot."""
    point = ChartPoint(pk=1, title="Top", stage="idea", mean_value=5.0, mean_feasibility=5.0,
                       est_cost=Decimal("210600"))  # fmt: skip
    layout = figure_json(portfolio_figure([point]))["layout"]

    low, high = layout["yaxis"]["range"]
    plot_px = CHART_HEIGHT - CHART_MARGIN["t"] - CHART_MARGIN["b"]
    room_px = (high - 5) / (high - low) * plot_px
    label_px = 14
    assert room_px >= LARGEST_BUBBLE_PX / 2 + label_px
    x_low, x_high = layout["xaxis"]["range"]
    assert x_low < 1 and x_high > 5
    assert layout["height"] == CHART_HEIGHT and layout["margin"]["t"] >= 40  # toolbar: ~30 px


# --- Money in hovers ----------------------------------------------------------------------


def test_bar_hovers_write_money_as_the_page_does() -> None:
    buckets = {"cost": {"estimated": 210_600.4, "realised": 1_234.0}}
    estimated, realised = figure_json(value_by_bucket_figure(buckets))["data"]
    assert estimated["customdata"] == ["£210,600"]
    assert "%{customdata}" in estimated["hovertemplate"]
    assert "%{y" not in estimated["hovertemplate"]  # plotly.js would write 210600
    assert realised["customdata"] == ["£1,234"]


def test_hovers_use_the_configured_currency(settings: Any) -> None:
    settings.CURRENCY = {"code": "EUR", "symbol": "€"}
    point = ChartPoint(pk=7, title="Invoices", stage="pilot", mean_value=4.0,
                       mean_feasibility=3.0, est_cost=Decimal("210600"))  # fmt: skip
    (bubbles,) = figure_json(portfolio_figure([point]))["data"]
    (bar, _) = figure_json(value_by_bucket_figure({"cost": {"estimated": 210600, "realised": 0}}))[
        "data"
    ]
    assert "€210,600" in bubbles["hovertext"][0]
    assert bar["customdata"] == ["€210,600"]


# --- In the browser -----------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_chromium_hovers_say_money_ticks_say_dates_and_the_toolbar_sits_above_the_plot(
    page: Any, live_server: Any, sign_in: Any
) -> None:
    """GIVEN the demo data WHEN an ops lead hovers a bar of the value chart, reads a KPI
    sparkline's ticks and hovers the portfolio chart THEN the hover says the amount as the
    page does (£ and thousands separators), the ticks are months, and plotly's toolbar
    is drawn in the top margin, not over the bubbles."""
    from opsai.demo import DEMO_PASSWORD, demo_load

    demo_load()
    sign_in(page, "ops", password=DEMO_PASSWORD)

    page.goto(f"{live_server.url}/kpis/portfolio/")
    bar = page.locator("[data-figure='value-figure'] .bars path").first
    box = bar.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.locator("[data-figure='value-figure'] .hoverlayer .hovertext").first
    assert re.fullmatch(r".+: £\d{1,3}(,\d{3})+ a year \(estimate\)", hover.text_content())

    support = UseCase.objects.get(template_key="support_triage")
    page.goto(f"{live_server.url}{reverse('kpis:usecase', args=[support.pk])}")
    ticks = page.locator("[data-testid='kpi-node'] .xtick text").all_text_contents()
    assert ticks and all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", tick) for tick in ticks), ticks

    page.goto(f"{live_server.url}{reverse('usecases:portfolio')}")
    chart = page.locator("#portfolio-chart")
    chart.hover()
    modebar = chart.locator(".modebar").bounding_box()
    plot = chart.locator(".nsewdrag").first.bounding_box()
    assert modebar["y"] + modebar["height"] <= plot["y"]
