"""What every opsai chart shares: how a plotly figure is handed to a template.

Figures are built with plotly's Python API (``plotly.graph_objects``), which
validates every property, in each app's ``charts.py``; selectors hand them to the
templates through :func:`figure_json`, and ``static/vendor`` serves a plotly.js
bundle that registers only :data:`TRACE_TYPES`.
"""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go

# Every trace type opsai draws. The vendored plotly.js bundle must register each one
# (a test reads the bundle); a chart needing another type needs a bigger bundle first.
TRACE_TYPES = frozenset({"bar", "scatter"})


def figure_json(fig: go.Figure) -> dict[str, Any]:
    """``fig`` serialised by ``fig.to_json()`` and read back: the plain JSON plotly.js draws.

    Templates pass it through ``json_script`` as before, and tests can read it as a
    dict. plotly.py's default template is dropped so plotly.js draws with its own
    defaults (colours, white background), as opsai's charts always have. Data must
    come as Python lists: ``to_json`` would encode numpy arrays as typed arrays.
    """
    unknown = {trace.type for trace in fig.data} - TRACE_TYPES
    if unknown:
        raise ValueError(f"the plotly.js bundle does not draw {sorted(unknown)}")
    fig.layout.template = None
    return json.loads(fig.to_json())
