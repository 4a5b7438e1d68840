"""Incidents and their playbook: stop, contain, correct, reconcile, post-incident review."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from governance.choices import (
    IncidentStatus,
    PlaybookStep,
    Severity,
    WorkerStatus,
)
from governance.models import (
    AIWorker,
    Incident,
    IncidentStep,
)
from governance.services._shared import _annotate
from governance.services.workers import aiworker_pause
from kpis.choices import AnnotationKind
from opsai.permissions import acting_user
from usecases.models import UseCase

# --- Incidents --------------------------------------------------------------------------------


@transaction.atomic
def incident_open(
    *,
    use_case: UseCase,
    actor: Any,
    title: str,
    severity: str,
    what_happened: str,
    worker: AIWorker | None = None,
    affected: str = "",
    affected_count: int | None = None,
    source_key: str = "",
) -> Incident:
    """Open an incident with the playbook steps; the stop step is done if the worker is paused."""
    if worker is not None and worker.use_case_id != use_case.pk:
        raise ValidationError({"worker": f"{worker} is not an AI worker of {use_case}."})
    incident = Incident(
        use_case=use_case, worker=worker, title=title.strip(), severity=severity,
        what_happened=what_happened.strip(), affected=affected.strip(), affected_count=affected_count,
        opened_by=acting_user(actor), source_key=source_key,
    )  # fmt: skip
    incident.full_clean()
    incident.save()
    now = timezone.now()
    for position, kind in enumerate(PlaybookStep.values, start=1):
        stopped = (
            kind == PlaybookStep.STOP
            and worker is not None
            and worker.status == WorkerStatus.PAUSED
        )
        IncidentStep.objects.create(
            incident=incident, kind=kind, position=position,
            done_at=now if stopped else None,
            notes=f"{worker} paused: {worker.pause_reason}" if stopped else "",
        )  # fmt: skip
    audit_record(
        actor=actor, action="incident.opened", target=incident,
        after={"use_case": use_case.pk, "worker": getattr(worker, "pk", None), "severity": severity, "title": incident.title},
        model_version=worker.model_version if worker else "",
    )  # fmt: skip
    _annotate(
        actor=actor,
        kind=AnnotationKind.INCIDENT,
        text=f"Incident: {incident.title}",
        use_case=use_case,
        when=incident.opened_at,
    )
    return incident


@transaction.atomic
def incident_step_update(
    *,
    step: IncidentStep,
    actor: Any,
    owner: Any = None,
    notes: str | None = None,
    done: bool = False,
    rule_change: str = "",
) -> IncidentStep:
    """Assign, annotate or complete a playbook step.

    Completing the post-incident review needs the rule it changed (e.g. "human
    approval above 500") or "none".
    """
    step = IncidentStep.objects.select_for_update().select_related("incident").get(pk=step.pk)
    incident = step.incident
    if incident.status != IncidentStatus.OPEN:
        raise ValidationError("This incident is closed.")
    before = {"owner": step.owner_id, "notes": step.notes, "done": step.done_at is not None}
    if owner is not None:
        step.owner = owner
    if notes is not None:
        step.notes = notes.strip()
    if done and step.done_at is None:
        if step.kind == PlaybookStep.REVIEW:
            if not rule_change.strip():
                raise ValidationError(
                    {
                        "rule_change": 'Name the rule this review changed (e.g. "human approval above 500"), or say "none".'
                    }
                )
            incident.rule_change = rule_change.strip()[:300]
            incident.save(update_fields=["rule_change"])
        step.done_at, step.done_by = timezone.now(), acting_user(actor)
    step.full_clean()
    step.save()
    audit_record(
        actor=actor, action="incident.step_updated", target=incident, before={step.kind: before},
        after={step.kind: {"owner": step.owner_id, "notes": step.notes, "done": step.done_at is not None,
                           "rule_change": incident.rule_change if step.kind == PlaybookStep.REVIEW else None}},
    )  # fmt: skip
    return step


@transaction.atomic
def incident_close(*, incident: Incident, actor: Any) -> Incident:
    """Close an incident — only once its post-incident review names its rule change (or "none")."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status != IncidentStatus.OPEN:
        raise ValidationError("This incident is already closed.")
    review = incident.steps.get(kind=PlaybookStep.REVIEW)
    if review.done_at is None or not incident.rule_change.strip():
        raise ValidationError(
            'Cannot close: the post-incident review step must be done and name the rule it changed (or "none").'
        )
    incident.status, incident.closed_at = IncidentStatus.CLOSED, timezone.now()
    incident.save(update_fields=["status", "closed_at"])
    audit_record(
        actor=actor, action="incident.closed", target=incident, before={"status": IncidentStatus.OPEN},
        after={"status": IncidentStatus.CLOSED, "rule_change": incident.rule_change},
    )  # fmt: skip
    return incident


@transaction.atomic
def guardrail_breach_handle(*, use_case: UseCase, what: str, source_key: str = "") -> Incident:
    """A guardrail KPI crossed its threshold: pause the workers set to auto-pause, open an incident.

    Runs as the system (no user), from the KPI app's slip detection. ``source_key``
    (e.g. ``kpis.alert:12``) makes it idempotent: a source already handled returns its incident.
    """
    if source_key:
        existing = Incident.objects.filter(source_key=source_key).first()
        if existing is not None:
            return existing
    paused = []
    for worker in AIWorker.objects.filter(
        use_case=use_case, status=WorkerStatus.ACTIVE, auto_pause_on_guardrail=True
    ).order_by("pk"):
        paused.append(
            aiworker_pause(worker=worker, actor=None, reason=f"Guardrail breached: {what}")
        )
    return incident_open(
        use_case=use_case,
        actor=None,
        title=f"Guardrail breached: {what}"[:200],
        severity=Severity.HIGH if paused else Severity.MEDIUM,
        what_happened=f"{what}. "
        + (
            f"Paused automatically: {', '.join(str(w) for w in paused)}."
            if paused
            else "No AI worker was set to pause automatically."
        ),
        worker=paused[0] if len(paused) == 1 else None,
        source_key=source_key,
    )
