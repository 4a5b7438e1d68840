"""Writes for governance: the audit trail, lanes, reviews and sign-offs, AI workers and
their releases, the kill switch, incidents and vendors."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator, validate_email
from django.db import models, transaction
from django.db.models import Count, Q
from django.utils import timezone

from governance.choices import (
    LANE_STRICTNESS,
    ChecklistKey,
    IncidentStatus,
    Lane,
    PlaybookStep,
    ReviewStatus,
    Severity,
    SignOffDecision,
    SignOffRole,
    WorkerStatus,
)
from governance.models import (
    AIWorker,
    AuditEvent,
    ChecklistItem,
    EvidenceFile,
    Incident,
    IncidentStep,
    LaneAssignment,
    LanePolicy,
    LaneRule,
    Release,
    Review,
    SignOff,
    Vendor,
)
from governance.policy import DEFAULT_POLICY_RULES, LANE_ATTRIBUTES
from governance.selectors import (
    FROZEN_FIELDS,
    lane_decide,
    lane_policy_current,
    required_sign_off_roles,
    review_latest,
    user_can_sign_role,
    users_for_role,
    worker_current_release,
)
from usecases.models import UseCase

logger = logging.getLogger(__name__)


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ticket_id: str = "",
    model_version: str = "",
) -> AuditEvent:
    """Append an audit event describing a change; call it inside that change's transaction.

    ``action`` is a dotted verb such as ``"usecase.stage_moved"``; ``actor`` is the
    user who acted (``None`` for the system, e.g. a Celery job).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "audit_record must run inside the transaction of the change it describes"
        )
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "system",
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        before=before,
        after=after,
        ticket_id=ticket_id,
        model_version=model_version,
    )


# --- Everything below: lanes, reviews, AI workers, releases, kill switch, incidents ------------
# usecases.services imports this module (for audit_record), so use-case services are
# imported inside the functions that need them.

STAGE_ORDER: dict[str, int] = {
    "idea": 0,
    "scoring": 1,
    "review": 2,
    "approved": 3,
    "pilot": 4,
    "production": 5,
}
REVIEWED_STAGES = ("approved", "pilot", "production")


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _annotate(*, actor: Any, kind: str, text: str, use_case: Any, when: Any) -> None:
    """A marker on the use case's KPI charts (releases, incidents, pauses)."""
    from kpis.services import annotation_create

    annotation_create(actor=actor, kind=kind, text=text[:300], starts_at=when, use_case=use_case)


def _send_on_commit(subject: str, body: str, recipients: list[str]) -> None:
    """Send an email once the change commits, so a rolled-back change tells no one."""
    recipients = sorted({r for r in recipients if r})
    if not recipients:
        return

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            # The change is committed; a mail server outage must not turn it into an error page.
            logger.exception("could not email %s about %r", recipients, subject)

    transaction.on_commit(send)


# --- Lanes ------------------------------------------------------------------------------------


@transaction.atomic
def lane_assign(
    *, use_case: UseCase, actor: Any, policy: LanePolicy | None = None
) -> LaneAssignment:
    """Put ``use_case`` in the lane the current policy gives it, recording which rule and why.

    A move into a stricter lane reopens review (and is audited as such).
    """
    policy = policy or lane_policy_current() or lane_policy_ensure_default()
    lane, rule, reason = lane_decide(policy=policy, use_case=use_case)
    current = LaneAssignment.objects.select_for_update().filter(use_case=use_case).first()
    if current and (current.lane, current.rule_id, current.policy_id) == (
        lane,
        getattr(rule, "pk", None),
        policy.pk,
    ):
        return current
    before = (
        {"lane": current.lane, "policy_version": current.policy.version, "reason": current.reason}
        if current
        else None
    )
    previous_lane = current.lane if current else None
    assignment = current or LaneAssignment(use_case=use_case)
    assignment.lane, assignment.rule, assignment.policy = lane, rule, policy
    assignment.reason, assignment.assigned_at = reason, timezone.now()
    assignment.full_clean()
    assignment.save()
    audit_record(
        actor=actor,
        action="lane.assigned",
        target=use_case,
        before=before,
        after={
            "lane": lane,
            "policy_version": policy.version,
            "rule": getattr(rule, "name", ""),
            "reason": reason,
        },
    )
    if previous_lane and LANE_STRICTNESS[lane] > LANE_STRICTNESS[previous_lane]:
        review_require_again(
            use_case=use_case,
            actor=actor,
            reason=f"Lane moved from {Lane(previous_lane).label} to {Lane(lane).label}: {reason}",
        )
    return assignment


@transaction.atomic
def lane_policy_ensure_default() -> LanePolicy:
    """The policy in force, creating the default (the seed's examples) if there is none.

    Migration 0004 ships it; this covers a database whose rows were flushed since.
    """
    current = lane_policy_current()
    if current is not None:
        return current
    return lane_policy_create(
        actor=None, note="Default policy: the seed's lane examples.", rules=DEFAULT_POLICY_RULES
    )


def lane_of(use_case: UseCase, *, actor: Any = None) -> LaneAssignment:
    """The use case's lane, assigning it first if it has none yet (e.g. older rows)."""
    assignment = LaneAssignment.objects.filter(use_case=use_case).select_related("rule").first()
    return assignment or lane_assign(use_case=use_case, actor=actor)


@transaction.atomic
def lane_policy_create(*, actor: Any, note: str, rules: list[dict[str, Any]]) -> LanePolicy:
    """Create the next policy version from ``rules`` (in order) and re-place every use case.

    Each rule is ``{"name", "lane", "conditions", "reason"}``; a bad rule is
    reported by its row number and nothing is saved.
    """
    if not rules:
        raise ValidationError("A policy needs at least one rule.")
    latest = LanePolicy.objects.select_for_update().order_by("-version").first()
    policy = LanePolicy(
        version=(latest.version + 1) if latest else 1, note=note, created_by=_user(actor)
    )
    policy.full_clean()
    policy.save()
    for position, data in enumerate(rules, start=1):
        rule = LaneRule(policy=policy, position=position, **data)
        try:
            rule.full_clean()
            for name, values in rule.conditions.items():
                if name not in LANE_ATTRIBUTES or not isinstance(values, list) or not values:
                    raise ValidationError(
                        {"conditions": f"{name}: unknown attribute or no values."}
                    )
        except ValidationError as error:
            raise ValidationError(
                f"Rule {position} ({data.get('name') or 'unnamed'}): {_messages(error)}"
            ) from error
        rule.save()
    audit_record(
        actor=actor,
        action="lane_policy.created",
        target=policy,
        before={"version": latest.version} if latest else None,
        after={"version": policy.version, "note": note, "rules": rules},
    )
    for use_case in UseCase.objects.order_by("pk"):
        lane_assign(use_case=use_case, actor=actor, policy=policy)
    return policy


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)


# --- Reviews ----------------------------------------------------------------------------------


@transaction.atomic
def review_open(*, use_case: UseCase, actor: Any, reason: str) -> Review:
    """Open a review of ``use_case`` with the five checklist items and its required sign-offs.

    Answers of the previous review are carried over so a re-review only looks at
    what changed; each sign-off is assigned to a reviewer, who is emailed.
    """
    UseCase.objects.select_for_update().get(pk=use_case.pk)
    if Review.objects.filter(use_case=use_case, status=ReviewStatus.OPEN).exists():
        raise ValidationError(f"{use_case} already has an open review.")
    previous = review_latest(use_case)
    review = Review(use_case=use_case, opened_reason=reason[:300], opened_by=_user(actor))
    review.full_clean()
    review.save()
    carried = {item.key: item for item in previous.checklist.all()} if previous else {}
    for key in ChecklistKey.values:
        old = carried.get(key)
        ChecklistItem.objects.create(
            review=review,
            key=key,
            answer=old.answer if old else "",
            evidence_text=old.evidence_text if old else "",
            evidence_links=old.evidence_links if old else [],
        )
    assigned = []
    for role in required_sign_off_roles(use_case):
        assignee = _pick_assignee(role, use_case)
        SignOff.objects.create(review=review, role=role, assignee=assignee)
        assigned.append((role, assignee))
    audit_record(
        actor=actor,
        action="review.opened",
        target=review,
        after={
            "use_case": use_case.pk,
            "reason": reason,
            "sign_offs": {role: getattr(user, "username", None) for role, user in assigned},
        },
    )
    for role, assignee in assigned:
        _notify_assignee(review=review, role=role, assignee=assignee, why=reason)
    return review


def _notify_assignee(*, review: Review, role: str, assignee: Any, why: str) -> None:
    if assignee is None or not assignee.email:
        return
    label = SignOffRole(role).label
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    _send_on_commit(
        f"[opsai] Review of “{review.use_case}” waits on your {label} sign-off",
        f"You are assigned the {label} sign-off of the review of “{review.use_case}”.\n"
        f"Why it was opened: {why}\nOpen it: {base}{review.get_absolute_url()}\n",
        [assignee.email],
    )


@transaction.atomic
def review_sign_offs_sync(*, review: Review, actor: Any) -> list[SignOff]:
    """Add the sign-offs an open review now needs (e.g. legal once personal data appears)."""
    have = set(review.sign_offs.values_list("role", flat=True))
    added = []
    for role in required_sign_off_roles(review.use_case):
        if role not in have:
            assignee = _pick_assignee(role, review.use_case)
            added.append(SignOff.objects.create(review=review, role=role, assignee=assignee))
            _notify_assignee(
                review=review, role=role, assignee=assignee, why="The use case changed."
            )
    if added:
        audit_record(
            actor=actor, action="review.sign_offs_added", target=review,
            after={"roles": [s.role for s in added]},
        )  # fmt: skip
    return added


def _pick_assignee(role: str, use_case: UseCase) -> Any:
    """The eligible user with the fewest pending sign-offs (never the submitter or owner)."""
    excluded = {use_case.submitted_by_id, use_case.owner_id} - {None}
    if (
        role == SignOffRole.PRODUCT_OWNER
        and use_case.team.product_owner_id
        and use_case.team.product_owner_id not in excluded
    ):
        team_owner = use_case.team.product_owner
        if user_can_sign_role(team_owner, role):
            return team_owner
    return (
        users_for_role(role)
        .exclude(pk__in=excluded)
        .annotate(
            load=Count(
                "assigned_sign_offs",
                filter=Q(
                    assigned_sign_offs__decision=SignOffDecision.PENDING,
                    assigned_sign_offs__review__status=ReviewStatus.OPEN,
                ),
            )
        )
        .order_by("load", "pk")
        .first()
    )


@transaction.atomic
def review_require_again(*, use_case: UseCase, actor: Any, reason: str) -> Review | None:
    """Force a new review: open one (unless one is open) and send the use case back to review.

    Nothing to do while the use case has never been reviewed and has not reached
    review yet: its first review opens when it gets there.
    """
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    if Review.objects.filter(use_case=use_case, status=ReviewStatus.OPEN).exists():
        return None
    if use_case.stage not in ("review", *REVIEWED_STAGES) and not use_case.reviews.exists():
        return None
    review = review_open(use_case=use_case, actor=actor, reason=reason)
    if use_case.stage in REVIEWED_STAGES:
        from usecases.services import usecase_move_stage

        usecase_move_stage(use_case=use_case, to_stage="review", actor=actor, note=reason[:300])
    return review


@transaction.atomic
def review_withdraw(*, review: Review, actor: Any, reason: str) -> Review:
    """Close an open review without a decision (the use case left review), freezing what it had."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.status != ReviewStatus.OPEN:
        return review
    review.status, review.decided_at = ReviewStatus.SUPERSEDED, timezone.now()
    review.decision_snapshot = review_snapshot(review)
    review.save(update_fields=["status", "decided_at", "decision_snapshot"])
    audit_record(
        actor=actor, action="review.withdrawn", target=review,
        before={"status": ReviewStatus.OPEN}, after={"status": review.status, "reason": reason},
    )  # fmt: skip
    return review


@transaction.atomic
def review_checklist_update(
    *,
    item: ChecklistItem,
    actor: Any,
    answer: str,
    evidence_text: str = "",
    evidence_links: list[str] | None = None,
    files: list[Any] | None = None,
) -> ChecklistItem:
    """Record the answer and evidence (text, links, files) of one checklist item of an open review."""
    item = ChecklistItem.objects.select_for_update().select_related("review").get(pk=item.pk)
    if item.review.status != ReviewStatus.OPEN:
        raise ValidationError("This review is decided; its checklist is frozen.")
    links = [link.strip() for link in (evidence_links or []) if link.strip()]
    validate = URLValidator(schemes=["http", "https"])
    for link in links:
        try:
            validate(link)
        except ValidationError as error:
            raise ValidationError(
                {"evidence_links": f"“{link}” is not a web address (http or https)."}
            ) from error
    before = {
        "answer": item.answer,
        "evidence_text": item.evidence_text,
        "evidence_links": item.evidence_links,
    }
    item.answer, item.evidence_text, item.evidence_links = (
        answer.strip(),
        evidence_text.strip(),
        links,
    )
    item.updated_by, item.updated_at = _user(actor), timezone.now()
    item.full_clean()
    item.save()
    names = []
    for upload in files or []:
        evidence = EvidenceFile(item=item, file=upload, uploaded_by=_user(actor))
        evidence.full_clean()
        evidence.save()
        names.append(evidence.file.name)
    audit_record(
        actor=actor,
        action="review.checklist_updated",
        target=item.review,
        before={item.key: before},
        after={
            item.key: {
                "answer": item.answer,
                "evidence_text": item.evidence_text,
                "evidence_links": links,
                "files_added": names,
            }
        },
    )
    return item


@transaction.atomic
def review_sign_off(*, sign_off: SignOff, actor: Any, decision: str, comment: str) -> SignOff:
    """Give ``sign_off`` (approve, reject or request changes) with a comment.

    Refused when the actor lacks the role, or submitted or owns the use case
    (separation of duties). When every required sign-off approves, the review is
    approved, its decision frozen, and the use case moves to approved; one
    rejection rejects the review.
    """
    sign_off = (
        SignOff.objects.select_for_update().select_related("review__use_case").get(pk=sign_off.pk)
    )
    review = sign_off.review
    use_case = review.use_case
    role_label = SignOffRole(sign_off.role).label
    if review.status != ReviewStatus.OPEN:
        raise ValidationError(f"This review is already {review.get_status_display().lower()}.")
    if decision not in (
        SignOffDecision.APPROVED,
        SignOffDecision.REJECTED,
        SignOffDecision.CHANGES_REQUESTED,
    ):
        raise ValidationError({"decision": "Choose approve, reject or request changes."})
    if not user_can_sign_role(actor, sign_off.role):
        raise ValidationError(f"Only a {role_label} reviewer can give the {role_label} sign-off.")
    if _user(actor) is not None and actor.pk in (use_case.submitted_by_id, use_case.owner_id):
        raise ValidationError(
            "Separation of duties: you submitted or own this use case, so you cannot sign off its review."
        )
    if not comment.strip():
        raise ValidationError({"comment": "Say why, in a comment."})
    if decision == SignOffDecision.APPROVED:
        missing = [
            item.get_key_display() for item in review.checklist.all() if not item.answer.strip()
        ]
        if missing:
            raise ValidationError(
                f"Cannot approve before the checklist is answered; missing: {', '.join(missing)}."
            )
    before = {"role": sign_off.role, "decision": sign_off.decision}
    sign_off.decision, sign_off.comment = decision, comment.strip()
    sign_off.decided_by, sign_off.decided_at = actor, timezone.now()
    sign_off.full_clean()
    sign_off.save()
    audit_record(
        actor=actor,
        action="review.signed_off",
        target=review,
        before=before,
        after={"role": sign_off.role, "decision": decision, "comment": sign_off.comment},
    )
    decisions = list(review.sign_offs.values_list("decision", flat=True))
    if SignOffDecision.REJECTED in decisions:
        _review_decide(review=review, actor=actor, status=ReviewStatus.REJECTED)
    elif all(d == SignOffDecision.APPROVED for d in decisions):
        _review_decide(review=review, actor=actor, status=ReviewStatus.APPROVED)
        use_case.refresh_from_db()
        if use_case.stage == "review":
            from usecases.services import usecase_move_stage

            usecase_move_stage(
                use_case=use_case, to_stage="approved", actor=actor, note="Review approved"
            )
    return sign_off


def _review_decide(*, review: Review, actor: Any, status: str) -> None:
    review.status, review.decided_at = status, timezone.now()
    review.decision_snapshot = review_snapshot(review)
    review.save(update_fields=["status", "decided_at", "decision_snapshot"])
    audit_record(
        actor=actor,
        action=f"review.{status}",
        target=review,
        before={"status": ReviewStatus.OPEN},
        after={"status": status},
        model_version=", ".join(w["model_version"] for w in review.decision_snapshot["ai_workers"]),
    )


def review_snapshot(review: Review) -> dict[str, Any]:
    """The frozen copy of what a review decided on: the use case, its workers, checklist, sign-offs."""
    use_case = UseCase.objects.get(pk=review.use_case_id)
    assignment = LaneAssignment.objects.filter(use_case=use_case).first()
    fields = {name: getattr(use_case, name) for name in FROZEN_FIELDS}
    return {
        "use_case": {"id": use_case.pk, **fields},
        "lane": {"lane": assignment.lane, "reason": assignment.reason} if assignment else None,
        "ai_workers": [
            {
                "id": w.pk,
                "name": w.name,
                "vendor": str(w.vendor or ""),
                "model_name": w.model_name,
                "model_version": w.model_version,
                "autonomy": w.autonomy,
                "human_approval_threshold": w.human_approval_threshold,
            }
            for w in use_case.ai_workers.select_related("vendor").order_by("pk")
        ],
        "checklist": [
            {
                "key": item.key,
                "answer": item.answer,
                "evidence_text": item.evidence_text,
                "evidence_links": item.evidence_links,
                "files": [f.file.name for f in item.files.all()],
            }
            for item in review.checklist.prefetch_related("files").order_by("pk")
        ],
        "sign_offs": [
            {
                "role": s.role,
                "decision": s.decision,
                "comment": s.comment,
                "by": s.decided_by.get_username() if s.decided_by else None,
                "at": s.decided_at,
            }
            for s in review.sign_offs.select_related("decided_by").order_by("pk")
        ],
    }


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
    worker.status, worker.paused_at, worker.paused_by = WorkerStatus.PAUSED, now, _user(actor)
    worker.pause_reason = reason.strip()[:500]
    worker.save(update_fields=["status", "paused_at", "paused_by", "pause_reason"])
    audit_record(
        actor=actor, action="aiworker.paused", target=worker, before={"status": WorkerStatus.ACTIVE},
        after={"status": WorkerStatus.PAUSED, "reason": worker.pause_reason},
        model_version=worker.model_version,
    )  # fmt: skip
    who = actor.get_username() if _user(actor) else "opsai (automatic)"
    _annotate(
        actor=actor,
        kind="pause",
        text=f"{worker} paused: {worker.pause_reason}",
        use_case=worker.use_case,
        when=now,
    )
    _send_on_commit(
        f"[opsai] AI worker “{worker}” is PAUSED",
        f"{who} paused the AI worker “{worker}” of “{worker.use_case}” at {now:%Y-%m-%d %H:%M} UTC.\n"
        f"Reason: {worker.pause_reason}\n\nIts runtime is told through the status endpoint; "
        "a product owner must resume it.\n",
        worker.escalation_contacts,
    )
    return worker


@transaction.atomic
def aiworker_resume(*, worker: AIWorker, actor: Any, note: str = "") -> AIWorker:
    """Resume a paused worker. Only a product owner may."""
    from opsai.permissions import is_product_owner

    if not is_product_owner(actor):
        raise ValidationError("Only a product owner can resume an AI worker.")
    worker = AIWorker.objects.select_for_update().get(pk=worker.pk)
    if worker.status != WorkerStatus.PAUSED:
        raise ValidationError(f"{worker} is not paused.")
    before = {"status": worker.status, "reason": worker.pause_reason}
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
    return worker


@transaction.atomic
def release_create(
    *, worker: AIWorker, actor: Any, version: str, notes: str = "", deployed_at: Any = None
) -> Release:
    """Record a deployment of ``worker`` at ``version``; it becomes the current version."""
    release = Release(
        worker=worker, version=version.strip(), notes=notes.strip(),
        deployed_at=deployed_at or timezone.now(), deployed_by=_user(actor),
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
        kind="release",
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
        deployed_by=_user(actor), rollback_of=release,
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
        kind="release",
        text=f"{worker} {release.version} rolled back",
        use_case=worker.use_case,
        when=rollback.deployed_at,
    )
    return rollback


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
        opened_by=_user(actor), source_key=source_key,
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
        kind="incident",
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
        step.done_at, step.done_by = timezone.now(), _user(actor)
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
