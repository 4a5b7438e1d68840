"""The use-case pages' plotly figures, built with plotly's Python API (which validates them).

Each function returns a ``go.Figure``; ``usecases.selectors`` serialises it with
:func:`opsai.charts.figure_json` for the templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import plotly.graph_objects as go
from django.urls import reverse

from usecases.choices import Stage
from usecases.models import Score

# The largest bubble's diameter in pixels; the others scale by area below it.
LARGEST_BUBBLE_PX = 60.0
SCORE_AXIS = {"range": [0.5, 5.5]}  # scores run 1–5
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


def portfolio_figure(rows: Sequence[Plotted]) -> go.Figure:
    """Value (y) vs feasibility (x) consensus, bubble area = estimated annual value.

    ``rows`` are ``ChartPoint``s (``usecases.selectors.portfolio_chart_points``). One trace per stage, so colour is the
    stage; each point carries its use-case URL as ``customdata`` so a click opens it
    (``static/js/usecases.js``). Unscored use cases have no position and are left out.
    """
    by_stage: dict[str, list[Plotted]] = {}
    for row in rows:
        if row.mean_value is not None:
            by_stage.setdefault(row.stage, []).append(row)
    largest = max((float(r.est_cost or 0) for rs in by_stage.values() for r in rs), default=0.0)
    sizeref = (2.0 * largest / LARGEST_BUBBLE_PX**2) if largest else 1
    traces = [
        _stage_bubbles(stage.label, by_stage[stage.value], sizeref)
        for stage in Stage
        if by_stage.get(stage.value)
    ]
    return go.Figure(
        data=traces,
        layout=go.Layout(
            xaxis={"title": {"text": "Feasibility (consensus, 1–5)"}, **SCORE_AXIS},
            yaxis={"title": {"text": "Value (consensus, 1–5)"}, **SCORE_AXIS},
            legend={"title": {"text": "Stage"}},
            margin={"t": 20, "r": 20},
            annotations=[
                go.layout.Annotation(
                    text="Bubble size: estimated annual value (estimate)",
                    xref="paper",
                    yref="paper",
                    x=0,
                    y=1.05,
                    showarrow=False,
                )
            ],
        ),
    )


def _stage_bubbles(label: str, points: list[Plotted], sizeref: float) -> go.Scatter:
    """One stage's use cases as bubbles: title on hover, URL as customdata."""
    # reverse() once, not per bubble: at a thousand bubbles it was most of the chart's time.
    detail_url = reverse("usecases:detail", args=[URL_SENTINEL]).replace(str(URL_SENTINEL), "{}")
    return go.Scatter(
        mode="markers",
        name=label,
        x=[round(r.mean_feasibility, 2) for r in points],
        y=[round(r.mean_value, 2) for r in points],
        text=[r.title for r in points],
        customdata=[detail_url.format(r.pk) for r in points],
        hovertemplate="%{text}<br>Feasibility %{x}<br>Value %{y}"
        "<br>Estimated value £%{marker.size:.0f}<extra></extra>",
        marker={
            "size": [float(r.est_cost or 0) for r in points],
            "sizemode": "area",
            "sizeref": sizeref,
            "sizemin": 6,
        },
    )


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
        consensus.append(round(float(sum(current.values()) / len(current)), 2))
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
            yaxis={"title": {"text": "Weighted score (1–5)"}, **SCORE_AXIS},
            margin={"t": 20, "r": 20},
        ),
    )
