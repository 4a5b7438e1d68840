"""Receivers: governance reacts to KPI alerts inside the transaction that fired them."""

from __future__ import annotations

from typing import Any

from governance.services import guardrail_breach_handle
from kpis.choices import AlertReason


def guardrail_alert(sender: Any, kpi: Any, alert: Any = None, reason: str = "", **_: Any) -> None:
    """A guardrail KPI crossed its threshold: pause auto-pausing workers and open an incident."""
    if reason != AlertReason.GUARDRAIL:
        return
    threshold = getattr(kpi, "guardrail_threshold", None)
    what = f"{kpi} crossed its guardrail" + (f" ({threshold})" if threshold is not None else "")
    source_key = f"kpis.alert:{alert.pk}" if getattr(alert, "pk", None) else ""
    guardrail_breach_handle(use_case=kpi.use_case, what=what, source_key=source_key)
