"""What every opsai chart shares: how a plotly figure is handed to a template, and its axes.

Figures are built with plotly's Python API (``plotly.graph_objects``), which
validates every property, in each app's ``charts.py``; selectors hand them to the
templates through :func:`figure_json`, and ``static/vendor`` serves a plotly.js
bundle that registers only :data:`TRACE_TYPES`. A figure function returns ``None``
when it has nothing to draw: the template then says so in words, never an empty axis
(plotly.js draws an empty date axis as January to November 2000). Every time axis
comes from :func:`time_axis`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import plotly.graph_objects as go

# Every trace type opsai draws. The vendored plotly.js bundle must register each one
# (a test reads the bundle); a chart needing another type needs a bigger bundle first.
TRACE_TYPES = frozenset({"bar", "scatter"})

DAY_MS = 86_400_000  # plotly.js counts a date axis's dtick in milliseconds
# Weekly ticks fall on Mondays (plotly.js's default week start is a Sunday).
A_MONDAY = "2000-01-03"
# (longest span in days, dtick, tick label): the first row whose span fits is used.
# Labels never carry a time of day: a chart's points are days apart or, for a span
# under two days, shown as that day with a day either side (no millisecond ticks).
TIME_TICKS: tuple[tuple[float, int | str, str], ...] = (
    (2, DAY_MS, "%d %b %Y"),
    (10, DAY_MS, "%d %b"),
    (70, 7 * DAY_MS, "%d %b"),
    (400, "M1", "%b %Y"),
    (1100, "M3", "%b %Y"),
    (float("inf"), "M12", "%Y"),
)


def figure_json(fig: go.Figure | None) -> dict[str, Any] | None:
    """``fig`` serialised by ``fig.to_json()`` and read back: the plain JSON plotly.js draws.

    Templates pass it through ``json_script`` as before, and tests can read it as a
    dict. plotly.py's default template is dropped so plotly.js draws with its own
    defaults (colours, white background), as opsai's charts always have. Data must
    come as Python lists: ``to_json`` would encode numpy arrays as typed arrays.
    ``None`` (a chart with no data) stays ``None``: the template says so instead.
    """
    if fig is None:
        return None
    unknown = {trace.type for trace in fig.data} - TRACE_TYPES
    if unknown:
        raise ValueError(f"the plotly.js bundle does not draw {sorted(unknown)}")
    fig.layout.template = None
    return json.loads(fig.to_json())


def _as_naive_utc(moment: date | datetime) -> datetime:
    """A date as its midnight, an aware datetime in UTC: comparable, whichever came in."""
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time())
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None)


def time_axis(moments: Iterable[date | datetime]) -> dict[str, Any]:
    """A date x-axis whose ticks suit the span of ``moments`` (dates or datetimes).

    Left to itself plotly.js picks ticks from the axis's width in milliseconds: one
    point gets millisecond ticks, a few points on one day get hours. Here a span under
    two days shows that date with a day either side; up to ten days, daily ticks; up to
    ten weeks, Mondays; then months, quarters, years. Hover shows the date (and the
    time of day when the points fall within two days of each other).
    """
    instants = sorted(_as_naive_utc(m) for m in moments)
    axis: dict[str, Any] = {"type": "date", "hoverformat": "%d %b %Y"}
    if not instants:
        return axis
    first, last = instants[0], instants[-1]
    span_days = (last - first).total_seconds() / 86_400
    longest, dtick, label = next(row for row in TIME_TICKS if span_days <= row[0])
    axis.update(dtick=dtick, tickformat=label)
    if longest == TIME_TICKS[0][0]:
        day = timedelta(days=1)
        axis["range"] = [(first.date() - day).isoformat(), (last.date() + day).isoformat()]
        if any(instant.time() != time() for instant in instants):
            axis["hoverformat"] = "%d %b %Y %H:%M"
    if dtick == 7 * DAY_MS:
        axis["tick0"] = A_MONDAY
    return axis
