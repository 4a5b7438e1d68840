"""The use-case pages' plotly figures, built with plotly's Python API (which validates them).

Each function returns a ``go.Figure``; ``usecases.selectors`` serialises it with
:func:`opsai.charts.figure_json` for the templates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import plotly.graph_objects as go
from django.urls import reverse

from opsai.charts import time_axis
from opsai.formatting import money, score_decimal
from usecases.choices import Stage
from usecases.models import Score

# The largest bubble's diameter in pixels; the others scale by area below it.
LARGEST_BUBBLE_PX = 60.0
# Scores run 1–5; the range leaves room for the largest bubble at 1 or 5 and its label
# (0.8 of a point is ~50 px at the chart's height, the largest bubble's radius is 30).
SCORE_AXIS = {"range": [0.2, 5.8], "dtick": 1}
# The chart's height and margins: the top margin holds the caption line and plotly.js's
# toolbar (shown on hover), so neither covers a bubble at value 5.
CHART_HEIGHT = 540
CHART_MARGIN = {"t": 56, "r": 20, "b": 100, "l": 70}
# The stage legend runs along the bottom: at the right it sat on the density colour bar.
STAGE_LEGEND = {
    "title": {"text": "Stage"},
    "orientation": "h",
    "yref": "container",
    "y": 0,
    "yanchor": "bottom",
}
URL_SENTINEL = 987654321  # a pk no URL pattern part can contain by chance


class Plotted(Protocol):
    """What the bubble chart reads of a use case: a :class:`ChartPoint` or an annotated row."""

    pk: int | None
    title: str
    stage: str
    mean_value: float | None
    mean_feasibility: float | None
    est_cost: Decimal | None


@dataclass(frozen=True)
class ChartPoint:
    """Just the plotted fields of one use case, read with ``values_list`` (no model object)."""

    pk: int
    title: str
    stage: str
    mean_value: float | None
    mean_feasibility: float | None
    est_cost: Decimal | None


@dataclass(frozen=True)
class DensityCell:
    """How many scored use cases sit in one cell of the value × feasibility grid."""

    feasibility: float  # the cell's centre, on the 1–5 scale
    value: float
    count: int


DENSITY_TRACE = "Use cases per cell"
# Grid cells per score point: 2 → half-point cells, at most 9 × 9 on the 1–5 scale.
CELLS_PER_POINT = 2
LABEL_CHARS = 28  # a bubble's label is the title cut to this length


def portfolio_figure(rows: Sequence[Plotted], cells: Sequence[DensityCell] = ()) -> go.Figure:
    """Value (y) vs feasibility (x) consensus, readable at any number of use cases.

    Two layers: ``cells``, the density of every scored use case of the selection
    (``usecases.selectors.portfolio_chart`` bins them in PostgreSQL), drawn as shaded
    squares whose hover says how many sit there; and ``rows``, the selection's top
    use cases as labelled bubbles, area = estimated annual value, one trace per stage
    (colour = stage), each carrying its URL as ``customdata`` so a click opens it
    (``static/js/usecases.js``). The payload is bounded by the grid and the top-N,
    whatever the portfolio's size. Unscored use cases have no position and are left out.
    """
    by_stage: dict[str, list[Plotted]] = {}
    for row in rows:
        if row.mean_value is not None:
            by_stage.setdefault(row.stage, []).append(row)
    largest = max((float(r.est_cost or 0) for rs in by_stage.values() for r in rs), default=0.0)
    sizeref = (2.0 * largest / LARGEST_BUBBLE_PX**2) if largest else 1
    counts = {(cell.feasibility, cell.value): cell.count for cell in cells}
    traces = [_density(cells)] if cells else []
    traces += [
        _stage_bubbles(stage.label, by_stage[stage.value], sizeref, counts)
        for stage in Stage
        if by_stage.get(stage.value)
    ]
    return go.Figure(
        data=traces,
        layout=go.Layout(
            xaxis={"title": {"text": "Feasibility (consensus, 1–5)"}, **SCORE_AXIS},
            yaxis={"title": {"text": "Value (consensus, 1–5)"}, **SCORE_AXIS},
            legend=STAGE_LEGEND,
            height=CHART_HEIGHT,
            margin=CHART_MARGIN,
            annotations=[
                go.layout.Annotation(
                    text="Shading: use cases per cell · bubbles: the top by the current sort, "
                    "size = estimated annual value (estimate)",
                    xref="paper",
                    yref="paper",
                    x=0,
                    y=1,
                    yshift=30,
                    yanchor="bottom",
                    showarrow=False,
                )
            ],
        ),
    )


def cell_of(score: float) -> float:
    """The centre of the grid cell a consensus score falls in, rounded half up as
    PostgreSQL's ``round`` does (the selector bins with it)."""
    return math.floor(score * CELLS_PER_POINT + 0.5) / CELLS_PER_POINT


def _density(cells: Sequence[DensityCell]) -> go.Scatter:
    """Every scored use case, counted per cell, as shaded squares with the count written in
    (plotly-basic has no heatmap). Not hoverable: a bubble over a square takes the hover
    and the click, and says its cell's count itself."""
    most = max((cell.count for cell in cells), default=1)
    return go.Scatter(
        mode="markers+text",
        name=DENSITY_TRACE,
        x=[cell.feasibility for cell in cells],
        y=[cell.value for cell in cells],
        text=[f"{cell.count:,}" for cell in cells],
        textfont={"size": 9, "color": "#3b4a63"},
        hoverinfo="skip",
        marker={
            "symbol": "square",
            "size": 34,
            "color": [cell.count for cell in cells],
            "colorscale": [[0, "#eef2f8"], [1, "#6f8fbf"]],
            "cmin": 0,
            "cmax": most,
            "showscale": True,
            # Counts are whole: ticks at whole numbers, about five of them.
            "colorbar": {
                "title": {"text": "Use cases"},
                "thickness": 12,
                "tick0": 0,
                "dtick": max(1, math.ceil(most / 5)),
                "tickformat": ",d",
            },
            "line": {"width": 0},
        },
        showlegend=False,
    )


def _stage_bubbles(
    label: str, points: list[Plotted], sizeref: float, counts: dict[tuple[float, float], int]
) -> go.Scatter:
    """One stage's use cases as labelled bubbles: title and value on hover, URL as customdata."""
    # reverse() once, not per bubble: at a thousand bubbles it was most of the chart's time.
    detail_url = reverse("usecases:detail", args=[URL_SENTINEL]).replace(str(URL_SENTINEL), "{}")
    return go.Scatter(
        mode="markers+text",
        name=label,
        # The hover reads these: rounded as every score is shown (half up, 3.125 → 3.13).
        x=[float(score_decimal(r.mean_feasibility)) for r in points],
        y=[float(score_decimal(r.mean_value)) for r in points],
        text=[_short(r.title) for r in points],
        textposition="top center",
        textfont={"size": 10},
        hovertext=[_bubble_hover(r, counts) for r in points],
        customdata=[detail_url.format(r.pk) for r in points],
        hovertemplate="%{hovertext}<br>Feasibility %{x}<br>Value %{y}<extra></extra>",
        cliponaxis=False,
        marker={
            "size": [float(r.est_cost or 0) for r in points],
            "sizemode": "area",
            "sizeref": sizeref,
            "sizemin": 6,
            "line": {"width": 1, "color": "#ffffff"},
        },
    )


def _bubble_hover(row: Plotted, counts: dict[tuple[float, float], int]) -> str:
    text = f"{row.title}<br>Estimated value {money(row.est_cost)} a year (estimate)"
    count = counts.get((cell_of(row.mean_feasibility), cell_of(row.mean_value)))
    if count:
        text += f"<br>{count:,} use case{'s' if count != 1 else ''} in this cell"
    return text


def _short(title: str) -> str:
    return title if len(title) <= LABEL_CHARS else title[: LABEL_CHARS - 1] + "…"


def score_history_figure(sheets: list[Score]) -> go.Figure:
    """How the use case's score moved: each scorer's sheets and the running consensus.

    The consensus line is the mean of the current sheets' recorded weighted scores
    after each submission (each under the scoring-model version that produced it).
    """
    by_scorer: dict[str, list[Score]] = {}
    current: dict[int, Decimal] = {}
    times, consensus = [], []
    for sheet in sorted(sheets, key=lambda s: (s.submitted_at, s.pk)):
        by_scorer.setdefault(sheet.scorer.get_username(), []).append(sheet)
        current[sheet.scorer_id] = sheet.weighted_score
        times.append(sheet.submitted_at.isoformat())
        consensus.append(float(score_decimal(sum(current.values()) / len(current))))
    traces = [
        go.Scatter(mode="lines+markers", name="Consensus", x=times, y=consensus, line={"width": 3})
    ]
    traces += [
        go.Scatter(
            mode="markers",
            name=name,
            x=[s.submitted_at.isoformat() for s in rows],
            y=[float(s.weighted_score) for s in rows],
        )
        for name, rows in by_scorer.items()
    ]
    return go.Figure(
        data=traces,
        layout=go.Layout(
            xaxis=time_axis(sheet.submitted_at for sheet in sheets),
            yaxis={"title": {"text": "Weighted score (1–5)"}, **SCORE_AXIS},
            height=CHART_HEIGHT - 100,
            margin=CHART_MARGIN,
        ),
    )
