"""The KPI figures: what each draws, as plotly.js receives it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from kpis.charts import series_figure, snapshot_history_figure, stage_count_figure
from kpis.models import KPI, Annotation, Snapshot
from opsai.charts import figure_json

GO_LIVE = datetime(2025, 3, 3, tzinfo=UTC)


def test_it_draws_the_series_with_baseline_and_target_lines_and_marks_each_annotation() -> None:
    kpi = KPI(name="Handle time", unit="min", baseline_value=10.0, target_value=8.5)
    points = [(GO_LIVE + timedelta(days=day), 10.0 - day / 10) for day in range(3)]
    release = Annotation(kind="release", text="v2 live", starts_at=GO_LIVE)
    pause = Annotation(
        kind="pause", text="paused", starts_at=GO_LIVE, ends_at=GO_LIVE + timedelta(1)
    )

    figure = figure_json(series_figure(kpi, points, [release, pause], None, compact=False))

    (line,) = figure["data"]
    assert line["type"] == "scatter"
    assert line["x"][0] == GO_LIVE.isoformat()
    assert line["y"] == [10.0, 9.9, 9.8]  # plain lists, not typed arrays
    layout = figure["layout"]
    assert [(s["type"], s.get("y0")) for s in layout["shapes"]] == [
        ("line", 10.0), ("line", 8.5), ("line", 0), ("rect", 0)
    ]  # fmt: skip
    assert [a["text"] for a in layout["annotations"]] == ["baseline", "target", "Release", "Pause"]
    assert layout["annotations"][2]["hovertext"] == "v2 live"
    assert layout["yaxis"]["title"]["text"] == "min"


def test_a_sparkline_has_no_axis_title_and_no_lines_for_a_kpi_without_baseline_or_target() -> None:
    kpi = KPI(name="Handle time", unit="min")
    figure = figure_json(series_figure(kpi, [(GO_LIVE, 9.0)], [], None))
    assert figure["data"][0]["x"] == [GO_LIVE.isoformat()]
    assert "shapes" not in figure["layout"]
    assert "yaxis" not in figure["layout"]


def test_it_colours_each_snapshot_by_its_status() -> None:
    snapshots = [
        Snapshot(as_of=date(2025, 3, day), latest_value=value, status=status)
        for day, value, status in ((1, 9.0, "on_track"), (2, 11.0, "off_track"))
    ]
    (trace,) = figure_json(snapshot_history_figure(snapshots))["data"]
    assert trace["x"] == ["2025-03-01", "2025-03-02"]
    assert trace["marker"]["color"] == ["#1d7a46", "#b3261e"]


def test_the_stage_chart_ticks_whole_use_cases() -> None:
    """GIVEN three use cases in scoring WHEN the stage chart is drawn THEN its ticks are
    whole numbers (plotly alone picks 0, 0.5, 1, … for a count of 3)."""
    yaxis = figure_json(stage_count_figure({"scoring": 3, "pilot": 1}))["layout"]["yaxis"]
    assert yaxis["dtick"] == 1
    assert yaxis["tickformat"] == ",d"
    many = figure_json(stage_count_figure({"scoring": 4000}))["layout"]["yaxis"]
    assert "dtick" not in many  # plotly picks the step; the format keeps it whole
    assert stage_count_figure({}) is None
