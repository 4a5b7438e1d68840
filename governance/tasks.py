"""Governance jobs: act on guardrail alerts the KPI app fired (the automatic kill switch).

The KPI app's slip detection sends ``kpi_alert_fired`` inside its own job, and the
receiver pauses workers there and then. These jobs are the same action by id: the
beat sweep enqueues one per firing guardrail alert still without its incident (a
safety net). Both are idempotent: an alert's incident carries
``source_key = "kpis.alert:<id>"``, so it is handled once.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from governance.selectors import incident_source_keys
from governance.services import guardrail_breach_handle
from kpis.selectors import guardrail_alert_firing, guardrail_alert_ids_firing
from opsai.jobs import enqueue_on_commit

logger = logging.getLogger(__name__)


def _source_key(alert_id: int) -> str:
    return f"kpis.alert:{alert_id}"


@shared_task(name="governance.tasks.guardrail_alert_handle")
def guardrail_alert_handle(alert_id: int) -> str:
    """Pause the auto-pausing workers of a firing guardrail alert's use case; open its incident."""
    alert = guardrail_alert_firing(alert_id)
    if alert is None:
        logger.info("alert %s is gone or not a firing guardrail alert; nothing to do", alert_id)
        return "not a firing guardrail alert"
    source_key = _source_key(alert.pk)
    with transaction.atomic():
        if incident_source_keys([source_key]):
            return "already handled"
        incident = guardrail_breach_handle(
            use_case=alert.kpi.use_case,
            what=f"{alert.kpi} crossed its guardrail ({alert.kpi.guardrail_threshold})",
            source_key=source_key,
        )
    logger.info("guardrail alert %s handled: incident %s", alert_id, incident.pk)
    return f"incident {incident.pk}"


@shared_task(name="governance.tasks.guardrail_sweep")
def guardrail_sweep() -> int:
    """Enqueue a handler for every firing guardrail alert that has no incident yet."""
    firing = guardrail_alert_ids_firing()
    handled = incident_source_keys([_source_key(pk) for pk in firing])
    pending = [pk for pk in firing if _source_key(pk) not in handled]
    for pk in pending:
        enqueue_on_commit(guardrail_alert_handle, pk)
    return len(pending)
