"""Signals the KPI app sends for other apps (governance hooks guardrails to the kill switch).

- ``kpi_alert_fired(kpi, alert, reason)`` — sent inside the transaction that records a
  slip alert, after the pending period has passed. ``reason`` is ``"off_track"`` or
  ``"guardrail"``; ``kpi.use_case`` tells which use case (and so which AI workers)
  it concerns. Sent from a Celery task, so there is no user: the actor is the system.
"""

from django.dispatch import Signal

kpi_alert_fired = Signal()
