"""Vendors, AI workers, their releases and the kill switch."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from governance.choices import (
    WorkerStatus,
)
from governance.models import (
    AIWorker,
    Release,
    Vendor,
)
from governance.selectors import (
    worker_current_release,
)
from governance.services._shared import _annotate, _send_on_commit
from governance.services.reviews import review_require_again
from kpis.choices import AnnotationKind
from kpis.services import annotation_end_open_range
from opsai import formatting
from opsai.mail import absolute_url
from opsai.permissions import acting_user
from usecases.lifecycle import REVIEWED_STAGES
from usecases.models import UseCase

# --- Vendors and AI workers --------------------------------------------------------------------

VENDOR_FIELDS = (
    "name",
    "security_posture",
    "retention_policy",
    "sla",
    "last_reviewed_on",
    "next_review_due",
)
WORKER_FIELDS = (
    "name", "tasks_handled", "human_role", "vendor", "model_name", "model_version", "autonomy",
    "human_approval_threshold", "auto_pause_on_guardrail", "escalation_contacts",
)  # fmt: skip


@transaction.atomic
def vendor_save(*, actor: Any, data: dict[str, Any], vendor: Vendor | None = None) -> Vendor:
    """Create a vendor, or change ``vendor``, from ``data``."""
    vendor = vendor or Vendor()
    before = {name: getattr(vendor, name) for name in VENDOR_FIELDS} if vendor.pk else None
    for name in VENDOR_FIELDS:
        if name in data:
            setattr(vendor, name, data[name])
    vendor.full_clean()
    vendor.save()
    audit_record(
        actor=actor, action="vendor.saved", target=vendor, before=before,
        after={name: getattr(vendor, name) for name in VENDOR_FIELDS},
    )  # fmt: skip
    return vendor


def _validate_contacts(contacts: list[str]) -> list[str]:
    cleaned = [c.strip() for c in contacts if c.strip()]
    for contact in cleaned:
        try:
            validate_email(contact)
        except ValidationError as error:
            raise ValidationError(
                {"escalation_contacts": f"“{contact}” is not an email address."}
            ) from error
    return cleaned


def _worker_state(worker: AIWorker) -> dict[str, Any]:
    state = {name: getattr(worker, name) for name in WORKER_FIELDS if name != "vendor"}
    state["vendor"] = worker.vendor_id
    return state


@transaction.atomic
def aiworker_create(*, use_case: UseCase, actor: Any, data: dict[str, Any]) -> AIWorker:
    """Add an AI worker to an approved use case; ``worker.runtime_token`` is shown once."""
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    if use_case.stage not in REVIEWED_STAGES:
        raise ValidationError(
            f"AI workers belong to approved use cases; “{use_case}” is in {use_case.get_stage_display()}."
        )
    worker = AIWorker(use_case=use_case, **{k: v for k, v in data.items() if k in WORKER_FIELDS})
    worker.escalation_contacts = _validate_contacts(worker.escalation_contacts or [])
    token = secrets.token_urlsafe(32)
    worker.runtime_token_hash = AIWorker.hash_token(token)
    worker.full_clean()
    worker.save()
    worker.runtime_token = token
    audit_record(
        actor=actor, action="aiworker.created", target=worker, after=_worker_state(worker),
        model_version=worker.model_version,
    )  # fmt: skip
    return worker


@transaction.atomic
def aiworker_update(*, worker: AIWorker, actor: Any, data: dict[str, Any]) -> AIWorker:
    """Change an AI worker; a new model (name, version or vendor) forces a new review."""
    worker = AIWorker.objects.select_for_update().get(pk=worker.pk)
    before = _worker_state(worker)
    for name, value in data.items():
        if name in WORKER_FIELDS:
            setattr(worker, name, value)
    worker.escalation_contacts = _validate_contacts(worker.escalation_contacts or [])
    worker.full_clean()
    worker.save()
    after = _worker_state(worker)
    changed = {k for k in after if after[k] != before[k]}
    if not changed:
        return worker
    audit_record(
        actor=actor, action="aiworker.updated", target=worker,
        before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
        model_version=worker.model_version,
    )  # fmt: skip
    model_changes = changed & {"model_name", "model_version", "vendor"}
    if model_changes:
        what = (
            f"model version of {worker} changed from {before['model_version']} to {worker.model_version}"
            if "model_version" in model_changes
            else f"model of {worker} changed"
        )
        review_require_again(
            use_case=worker.use_case, actor=actor, reason=what[0].upper() + what[1:]
        )
    return worker


@transaction.atomic
def aiworker_rotate_token(*, worker: AIWorker, actor: Any) -> str:
    """Issue a new runtime token for ``worker`` (the old one stops working); returns it once."""
    worker = AIWorker.objects.select_for_update().get(pk=worker.pk)
    token = secrets.token_urlsafe(32)
    worker.runtime_token_hash = AIWorker.hash_token(token)
    worker.save(update_fields=["runtime_token_hash"])
    audit_record(actor=actor, action="aiworker.token_rotated", target=worker)
    return token


@transaction.atomic
def aiworker_pause(*, worker: AIWorker, actor: Any, reason: str) -> AIWorker:
    """The kill switch: pause ``worker`` now, record why, mark KPI charts, email its contacts.

    The status endpoint the runtime polls answers ``paused`` from this commit on.
    """
    if not reason.strip():
        raise ValidationError({"reason": "Say why the worker is paused."})
    worker = AIWorker.objects.select_for_update().select_related("use_case").get(pk=worker.pk)
    if worker.status != WorkerStatus.ACTIVE:
        raise ValidationError(f"{worker} is {worker.get_status_display().lower()}, not active.")
    now = timezone.now()
    worker.status, worker.paused_at, worker.paused_by = WorkerStatus.PAUSED, now, acting_user(actor)
    worker.pause_reason = reason.strip()[:500]
    worker.save(update_fields=["status", "paused_at", "paused_by", "pause_reason"])
    audit_record(
        actor=actor, action="aiworker.paused", target=worker, before={"status": WorkerStatus.ACTIVE},
        after={"status": WorkerStatus.PAUSED, "reason": worker.pause_reason},
        model_version=worker.model_version,
    )  # fmt: skip
    who = actor.get_username() if acting_user(actor) else "opsai (automatic)"
    _annotate(
        actor=actor,
        kind=AnnotationKind.PAUSE,
        text=f"{worker} paused: {worker.pause_reason}",
        use_case=worker.use_case,
        when=now,
    )
    _send_on_commit(
        f"[opsai] AI worker “{worker}” is PAUSED",
        f"{who} paused the AI worker “{worker}” of “{worker.use_case}” at {formatting.datetime(now)} "
        f"({timezone.get_current_timezone_name()}).\n"
        f"Reason: {worker.pause_reason}\n\nIts runtime is told through the status endpoint; "
        f"a product owner must resume it.\nOpen it: {absolute_url(worker.get_absolute_url())}\n",
        worker.escalation_contacts,
    )
    return worker


@transaction.atomic
def aiworker_resume(*, worker: AIWorker, actor: Any, note: str = "") -> AIWorker:
    """Resume a paused worker; only a product owner of its team may.

    The pause marker on the KPI charts becomes a range ending now; the escalation
    contacts are emailed.
    """
    worker = (
        AIWorker.objects.select_for_update(of=("self",))
        .select_related("use_case__team")
        .get(pk=worker.pk)
    )
    if actor is None or not actor.has_perm("governance.resume_worker", worker):
        raise ValidationError(
            f"Only a product owner of the {worker.use_case.team.path_label} team can resume "
            "an AI worker."
        )
    if worker.status != WorkerStatus.PAUSED:
        raise ValidationError(f"{worker} is not paused.")
    before = {"status": worker.status, "reason": worker.pause_reason}
    _pause_marker_end(worker=worker, actor=actor, ends_at=timezone.now())
    worker.status, worker.paused_at, worker.paused_by, worker.pause_reason = (
        WorkerStatus.ACTIVE,
        None,
        None,
        "",
    )
    worker.save(update_fields=["status", "paused_at", "paused_by", "pause_reason"])
    audit_record(
        actor=actor, action="aiworker.resumed", target=worker, before=before,
        after={"status": WorkerStatus.ACTIVE, "note": note}, model_version=worker.model_version,
    )  # fmt: skip
    # Those told of the pause are told it is over, or they keep treating the worker as stopped.
    _send_on_commit(
        f"[opsai] AI worker “{worker}” is active again",
        f"{actor.get_username()} resumed the AI worker “{worker}” of “{worker.use_case}”.\n"
        + (f"Note: {note.strip()}\n" if note.strip() else "")
        + f"Open it: {absolute_url(worker.get_absolute_url())}\n",
        worker.escalation_contacts,
    )
    return worker


def _pause_marker_end(*, worker: AIWorker, actor: Any, ends_at: Any) -> None:
    """Turn the point marker ``aiworker_pause`` put on the KPI charts into a pause range."""
    annotation_end_open_range(
        actor=actor,
        kind=AnnotationKind.PAUSE,
        use_case_id=worker.use_case_id,
        starts_at=worker.paused_at,
        ends_at=ends_at,
    )


@transaction.atomic
def release_create(
    *, worker: AIWorker, actor: Any, version: str, notes: str = "", deployed_at: Any = None
) -> Release:
    """Record a deployment of ``worker`` at ``version``; it becomes the current version."""
    release = Release(
        worker=worker, version=version.strip(), notes=notes.strip(),
        deployed_at=deployed_at or timezone.now(), deployed_by=acting_user(actor),
    )  # fmt: skip
    if worker.releases.filter(version=release.version, rollback_of__isnull=True).exists():
        raise ValidationError({"version": f"{worker} already had a release {release.version}."})
    release.full_clean()
    release.save()
    audit_record(
        actor=actor, action="release.deployed", target=release,
        after={"worker": worker.pk, "version": release.version, "notes": release.notes},
        model_version=worker.model_version,
    )  # fmt: skip
    _annotate(
        actor=actor,
        kind=AnnotationKind.RELEASE,
        text=f"{worker} {release.version} released",
        use_case=worker.use_case,
        when=release.deployed_at,
    )
    return release


@transaction.atomic
def release_rollback(*, release: Release, actor: Any, notes: str = "") -> Release:
    """Roll ``release`` back: recorded as a release of its own; the current version falls back."""
    release = (
        Release.objects.select_for_update().select_related("worker__use_case").get(pk=release.pk)
    )
    if release.rollback_of_id is not None:
        raise ValidationError(
            "A rollback cannot itself be rolled back; deploy a new release instead."
        )
    if Release.objects.filter(rollback_of=release).exists():
        raise ValidationError(f"{release.version} is already rolled back.")
    worker = release.worker
    rollback = Release(
        worker=worker, version=f"rollback of {release.version}"[:60], notes=notes.strip(),
        deployed_by=acting_user(actor), rollback_of=release,
    )  # fmt: skip
    rollback.full_clean()
    rollback.save()
    now_current = worker_current_release(worker)
    audit_record(
        actor=actor, action="release.rolled_back", target=release,
        after={"rolled_back": release.version, "current_version": now_current.version if now_current else None, "notes": rollback.notes},
        model_version=worker.model_version,
    )  # fmt: skip
    _annotate(
        actor=actor,
        kind=AnnotationKind.RELEASE,
        text=f"{worker} {release.version} rolled back",
        use_case=worker.use_case,
        when=rollback.deployed_at,
    )
    return rollback
