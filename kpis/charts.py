"""The KPI dashboards' plotly figures, built with plotly's Python API (which validates them).

Each function returns a ``go.Figure``; ``kpis.selectors`` serialises it with
:func:`opsai.charts.figure_json` for the templates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import plotly.graph_objects as go

from kpis.choices import Status
from kpis.models import KPI, Annotation, Snapshot
from opsai.formatting import currency, date, money, number
from usecases.choices import Stage, ValueBucket

STATUS_COLOURS = {
    Status.ON_TRACK: "#1d7a46",
    Status.AT_RISK: "#a86400",
    Status.OFF_TRACK: "#b3261e",
    Status.NO_DATA: "#8a93a3",
}
ANNOTATION_COLOURS = {
    "release": "#1f5fbf",
    "incident": "#b3261e",
    "pause": "#a86400",
    "note": "#5b6577",
}
OTHER_ANNOTATION_COLOUR = "#5b6577"
BASELINE_COLOUR = "#8a93a3"
TARGET_COLOUR = "#1d7a46"


def value_by_bucket_figure(buckets: dict[str, dict[str, float]]) -> go.Figure:
    """Estimated (yearly) beside realised (yearly rate) value, one group of bars per bucket."""
    labels = [ValueBucket(key).label for key in buckets]
    return go.Figure(
        data=[
            go.Bar(
                name="Estimated (yearly)",
                x=labels,
                y=[round(b["estimated"]) for b in buckets.values()],
                text=[money(b["estimated"]) for b in buckets.values()],
                hovertemplate="%{x}: %{text} a year (estimate)<extra></extra>",
                textposition="none",
                marker={"color": "#c5cfdf"},
            ),
            go.Bar(
                name="Realised (yearly rate)",
                x=labels,
                y=[round(b["realised"]) for b in buckets.values()],
                text=[money(b["realised"]) for b in buckets.values()],
                hovertemplate="%{x}: %{text} a year realised<extra></extra>",
                textposition="none",
                marker={"color": "#1f5fbf"},
            ),
        ],
        layout=go.Layout(
            barmode="group",
            margin={"t": 10, "r": 10, "b": 40, "l": 60},
            yaxis={"tickprefix": currency()["symbol"], "tickformat": ",.0f"},
            legend={"orientation": "h"},
            height=300,
        ),
    )


def stage_count_figure(stages: dict[str, int]) -> go.Figure:
    """How many use cases sit in each stage, in lifecycle order (``stages``: stage → count)."""
    return go.Figure(
        data=[
            go.Bar(
                x=[stage.label for stage in Stage],
                y=[stages.get(stage.value, 0) for stage in Stage],
                marker={"color": "#1f5fbf"},
            )
        ],
        layout=go.Layout(margin={"t": 10, "r": 10, "b": 40, "l": 40}, height=300),
    )


def series_figure(
    kpi: KPI,
    points: list[tuple[datetime, float]],
    annotations: list[Annotation],
    snapshot: Snapshot | None,
    *,
    height: int = 180,
    compact: bool = True,
) -> go.Figure:
    """A line of ``points`` with baseline and target lines and annotation markers.

    The baseline is the snapshot's (measured or set) when there is one, else the KPI's.
    ``compact`` (the use-case stack's sparklines) leaves out the axis title.
    """
    line = go.Scatter(
        mode="lines",
        name=kpi.name,
        x=[ts.isoformat() for ts, _ in points],
        y=[value for _, value in points],
        # The hover says what the KPI page says, written by the formatting layer.
        hovertext=[f"{date(ts)}: {number(value, 2)} {kpi.unit}" for ts, value in points],
        hoverinfo="text",
        line={"color": "#1d2330", "width": 1.5},
    )
    baseline = snapshot.baseline if snapshot else kpi.baseline_value
    shapes, labels = _reference_lines(
        ((baseline, "baseline", BASELINE_COLOUR), (kpi.target_value, "target", TARGET_COLOUR))
    )
    note_shapes, note_labels = _annotation_markers(annotations)
    return go.Figure(
        data=[line],
        layout=go.Layout(
            height=height,
            margin={"t": 18, "r": 10, "b": 24 if compact else 40, "l": 50},
            showlegend=False,
            shapes=shapes + note_shapes,
            annotations=labels + note_labels,
            xaxis={"type": "date"},
            yaxis={"title": None if compact else {"text": kpi.unit}},
        ),
    )


def _reference_lines(
    lines: Iterable[tuple[float | None, str, str]],
) -> tuple[list[go.layout.Shape], list[go.layout.Annotation]]:
    """A dashed full-width line and a label at its right end for each (value, name, colour)."""
    shapes, labels = [], []
    for value, name, colour in lines:
        if value is None:
            continue
        shapes.append(
            go.layout.Shape(
                type="line",
                xref="paper",
                x0=0,
                x1=1,
                y0=value,
                y1=value,
                line={"color": colour, "dash": "dash", "width": 1},
            )
        )
        labels.append(
            go.layout.Annotation(
                xref="paper",
                x=1,
                y=value,
                text=name,
                showarrow=False,
                xanchor="right",
                yanchor="bottom",
                font={"size": 10, "color": colour},
            )
        )
    return shapes, labels


def _annotation_markers(
    annotations: list[Annotation],
) -> tuple[list[go.layout.Shape], list[go.layout.Annotation]]:
    """A shaded band (a range) or a vertical line (a moment) per annotation, labelled on top."""
    shapes, labels = [], []
    for note in annotations:
        colour = ANNOTATION_COLOURS.get(note.kind, OTHER_ANNOTATION_COLOUR)
        start = note.starts_at.isoformat()
        if note.ends_at:
            shape = go.layout.Shape(
                type="rect",
                xref="x",
                yref="paper",
                x0=start,
                x1=note.ends_at.isoformat(),
                y0=0,
                y1=1,
                fillcolor=colour,
                opacity=0.12,
                line={"width": 0},
            )
        else:
            shape = go.layout.Shape(
                type="line",
                xref="x",
                yref="paper",
                x0=start,
                x1=start,
                y0=0,
                y1=1,
                line={"color": colour, "width": 1.5},
            )
        shapes.append(shape)
        labels.append(
            go.layout.Annotation(
                xref="x",
                yref="paper",
                x=start,
                y=1,
                text=note.get_kind_display(),
                hovertext=note.text,
                showarrow=False,
                yanchor="bottom",
                font={"size": 10, "color": colour},
            )
        )
    return shapes, labels


def snapshot_history_figure(snapshots: list[Snapshot]) -> go.Figure:
    """The latest value at each snapshot (``snapshots`` oldest first), coloured by status."""
    return go.Figure(
        data=[
            go.Scatter(
                mode="lines+markers",
                name="latest at snapshot",
                x=[s.as_of.isoformat() for s in snapshots],
                y=[s.latest_value for s in snapshots],
                marker={
                    "color": [
                        STATUS_COLOURS.get(s.status, STATUS_COLOURS[Status.NO_DATA])
                        for s in snapshots
                    ],
                    "size": 7,
                },
            )
        ],
        layout=go.Layout(height=220, margin={"t": 10, "r": 10, "b": 30, "l": 50}, showlegend=False),
    )
