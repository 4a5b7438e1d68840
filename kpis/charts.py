"""The KPI dashboards' plotly figures, built with plotly's Python API (which validates them).

Each function returns a ``go.Figure``, or ``None`` when there is nothing to draw (the
template says so in words instead of an empty axis); ``kpis.selectors`` serialises it
with :func:`opsai.charts.figure_json` for the templates. Money in a hover is written by
:func:`opsai.formatting.money` and carried as ``customdata``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import plotly.graph_objects as go

from kpis.choices import Status
from kpis.models import KPI, Annotation, Snapshot
from opsai.charts import time_axis
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


def value_by_bucket_figure(buckets: dict[str, dict[str, float]]) -> go.Figure | None:
    """Estimated (yearly) beside realised (yearly rate) value, one group of bars per bucket.

    ``None`` when no bucket has any value, estimated or realised.
    """
    if not any(b["estimated"] or b["realised"] for b in buckets.values()):
        return None
    labels = [ValueBucket(key).label for key in buckets]
    estimated = [b["estimated"] for b in buckets.values()]
    realised = [b["realised"] for b in buckets.values()]
    return go.Figure(
        data=[
            _money_bars("Estimated (yearly)", labels, estimated, "a year (estimate)", "#c5cfdf"),
            _money_bars("Realised (yearly rate)", labels, realised, "a year realised", "#1f5fbf"),
        ],
        layout=go.Layout(
            barmode="group",
            margin={"t": 10, "r": 10, "b": 40, "l": 60},
            yaxis={"tickprefix": currency()["symbol"], "tickformat": ",.0f"},
            legend={"orientation": "h"},
            height=300,
        ),
    )


def _money_bars(
    name: str, labels: list[str], amounts: list[float], what: str, colour: str
) -> go.Bar:
    """Bars of ``amounts`` whose hover says each as money (``£210,600``), written by the
    one money formatter and carried as ``customdata`` (plotly.js's own number format
    knows neither the currency nor its separators)."""
    return go.Bar(
        name=name,
        x=labels,
        y=[round(amount) for amount in amounts],
        customdata=[money(amount) for amount in amounts],
        hovertemplate=f"%{{x}}: %{{customdata}} {what}<extra></extra>",
        marker={"color": colour},
    )


def stage_count_figure(stages: dict[str, int]) -> go.Figure | None:
    """How many use cases sit in each stage, in lifecycle order (``stages``: stage → count).

    ``None`` when there are no use cases.
    """
    if not any(stages.values()):
        return None
    return go.Figure(
        data=[
            go.Bar(
                x=[stage.label for stage in Stage],
                y=[stages.get(stage.value, 0) for stage in Stage],
                marker={"color": "#1f5fbf"},
            )
        ],
        # Counts of use cases: whole-number ticks (plotly's own pick for 3 is 0, 0.5, 1, …).
        layout=go.Layout(
            margin={"t": 10, "r": 10, "b": 40, "l": 40},
            height=300,
            yaxis={"tickformat": ",d", "dtick": 1 if max(stages.values()) <= 10 else None},
        ),
    )


def series_figure(
    kpi: KPI,
    points: list[tuple[datetime, float]],
    annotations: list[Annotation],
    snapshot: Snapshot | None,
    *,
    height: int = 180,
    compact: bool = True,
) -> go.Figure | None:
    """A line of ``points`` with baseline and target lines and annotation markers.

    The baseline is the snapshot's (measured or set) when there is one, else the KPI's.
    ``compact`` (the use-case stack's sparklines) leaves out the axis title. ``None``
    when the KPI has no measurements in ``points``.
    """
    if not points:
        return None
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
            xaxis=time_axis(ts for ts, _ in points),
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


def snapshot_history_figure(snapshots: list[Snapshot]) -> go.Figure | None:
    """The latest value at each snapshot (``snapshots`` oldest first), coloured by status.

    ``None`` when there are no snapshots.
    """
    if not snapshots:
        return None
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
        layout=go.Layout(
            height=220,
            margin={"t": 10, "r": 10, "b": 30, "l": 50},
            showlegend=False,
            xaxis=time_axis(s.as_of for s in snapshots),
        ),
    )
