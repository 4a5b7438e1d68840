"""Governance jobs: act on guardrail alerts the KPI app fired (the automatic kill switch).

The KPI app's slip detection sends ``kpi_alert_fired`` inside its own job, and the
receiver pauses workers there and then. These jobs are the same action by id —
for an alert handed over by id, and a beat sweep that catches any firing
guardrail alert still without its incident. Both are idempotent: an alert's
incident carries ``source_key = "kpis.alert:<id>"``, so it is handled once.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from governance.models import Incident
from governance.services import guardrail_breach_handle

logger = logging.getLogger(__name__)


@shared_task(name="governance.tasks.guardrail_alert_handle")
def guardrail_alert_handle(alert_id: int) -> str:
    """Pause the auto-pausing workers of a firing guardrail alert's use case; open its incident."""
    from kpis.models import Alert

    alert = Alert.objects.select_related("kpi__use_case").filter(pk=alert_id).first()
    if alert is None:
        logger.info("guardrail alert %s is gone; nothing to do", alert_id)
        return "gone"
    if alert.reason != "guardrail" or alert.state != "firing":
        return "not a firing guardrail alert"
    source_key = f"kpis.alert:{alert.pk}"
    with transaction.atomic():
        if Incident.objects.filter(source_key=source_key).exists():
            return "already handled"
        threshold = alert.kpi.guardrail_threshold
        incident = guardrail_breach_handle(
            use_case=alert.kpi.use_case,
            what=f"{alert.kpi} crossed its guardrail ({threshold})",
            source_key=source_key,
        )
    logger.info("guardrail alert %s handled: incident %s", alert_id, incident.pk)
    return f"incident {incident.pk}"


@shared_task(name="governance.tasks.guardrail_sweep")
def guardrail_sweep() -> int:
    """Handle every firing guardrail alert that has no incident yet (a safety net)."""
    from kpis.models import Alert

    handled = set(
        Incident.objects.filter(source_key__startswith="kpis.alert:").values_list(
            "source_key", flat=True
        )
    )
    pending = [
        pk
        for pk in Alert.objects.filter(reason="guardrail", state="firing").values_list(
            "pk", flat=True
        )
        if f"kpis.alert:{pk}" not in handled
    ]
    for pk in pending:
        guardrail_alert_handle(pk)
    return len(pending)
