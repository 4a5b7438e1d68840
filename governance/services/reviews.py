"""Reviews: the five-point checklist, required sign-offs and the decision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from audit.services import audit_record
from governance.choices import (
    ChecklistKey,
    ReviewStatus,
    SignOffDecision,
    SignOffRole,
)
from governance.evidence import evidence_file_problem, evidence_link_problem
from governance.models import (
    ChecklistItem,
    EvidenceFile,
    LaneAssignment,
    Review,
    SignOff,
)
from governance.rules import sign_off_refusal, user_can_sign_role
from governance.selectors import (
    FROZEN_FIELDS,
    required_sign_off_roles,
    review_latest,
    users_for_role,
)
from governance.services._shared import _send_on_commit
from opsai.mail import absolute_url
from opsai.permissions import acting_user, nearest_product_owner_id
from usecases.choices import Stage
from usecases.lifecycle import REVIEWED_STAGES
from usecases.models import UseCase
from usecases.services import usecase_move_stage

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
    review = Review(use_case=use_case, opened_reason=reason[:300], opened_by=acting_user(actor))
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
    _send_on_commit(
        f"[opsai] Review of “{review.use_case}” waits on your {label} sign-off",
        f"You are assigned the {label} sign-off of the review of “{review.use_case}”.\n"
        f"Why it was opened: {why}\nOpen it: {absolute_url(review.get_absolute_url())}\n",
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
    # The unit's product owner: the nearest one named up the organisation tree.
    owner_id = (
        nearest_product_owner_id(use_case.team) if role == SignOffRole.PRODUCT_OWNER else None
    )
    if owner_id and owner_id not in excluded:
        team_owner = get_user_model().objects.get(pk=owner_id)
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
def review_reopen(*, use_case: UseCase, actor: Any, reason: str) -> Review | None:
    """Open a new review (unless one is open); the use case's stage is left to the caller.

    Nothing to do while the use case has never been reviewed and has not reached
    review yet: its first review opens when it gets there.
    """
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    if Review.objects.filter(use_case=use_case, status=ReviewStatus.OPEN).exists():
        return None
    if use_case.stage not in (Stage.REVIEW, *REVIEWED_STAGES) and not use_case.reviews.exists():
        return None
    return review_open(use_case=use_case, actor=actor, reason=reason)


@transaction.atomic
def review_require_again(*, use_case: UseCase, actor: Any, reason: str) -> Review | None:
    """Force a new review: open one (unless one is open) and send the use case back to review."""
    review = review_reopen(use_case=use_case, actor=actor, reason=reason)
    use_case.refresh_from_db(fields=["stage"])
    if review is not None and use_case.stage in REVIEWED_STAGES:
        usecase_move_stage(use_case=use_case, to_stage=Stage.REVIEW, actor=actor, note=reason[:300])
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


def _checklist_problems(*, links: list[str], files: list[Any]) -> dict[str, list[str]]:
    """What is wrong with an item's evidence, by field; every file is checked before any is stored."""
    problems: dict[str, list[str]] = {}
    bad_links = [problem for link in links if (problem := evidence_link_problem(link))]
    if bad_links:
        problems["evidence_links"] = bad_links
    bad_files = [problem for upload in files if (problem := evidence_file_problem(upload))]
    if bad_files:
        problems["files"] = bad_files
    return problems


def _checklist_item_write(
    *,
    item: ChecklistItem,
    actor: Any,
    answer: str,
    evidence_text: str,
    links: list[str],
    files: list[Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Store an item's answer, evidence and new files; returns (before, after) for the audit."""
    before = {
        "answer": item.answer,
        "evidence_text": item.evidence_text,
        "evidence_links": item.evidence_links,
    }
    answer, evidence_text = answer.strip(), evidence_text.strip()
    item.answer, item.evidence_text, item.evidence_links = answer, evidence_text, links
    item.updated_by, item.updated_at = acting_user(actor), timezone.now()
    item.full_clean()
    item.save()
    names = []
    for upload in files:
        evidence = EvidenceFile(item=item, file=upload, uploaded_by=acting_user(actor))
        evidence.full_clean()
        evidence.save()
        names.append(evidence.file.name)
    after = {"answer": answer, "evidence_text": evidence_text, "evidence_links": links}
    return before, {**after, "files_added": names}


def _links(evidence_links: list[str] | None) -> list[str]:
    return [link.strip() for link in (evidence_links or []) if link.strip()]


def _checklist_unchanged(item: ChecklistItem, entry: Mapping[str, Any]) -> bool:
    """Would saving ``entry`` leave ``item`` as it is (same answer and evidence, no new file)?"""
    return not entry.get("files") and (
        entry.get("answer", "").strip(),
        entry.get("evidence_text", "").strip(),
        _links(entry.get("evidence_links")),
    ) == (item.answer, item.evidence_text, item.evidence_links)


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
    links = _links(evidence_links)
    problems = _checklist_problems(links=links, files=files or [])
    if problems:
        raise ValidationError(problems)
    before, after = _checklist_item_write(
        item=item, actor=actor, answer=answer, evidence_text=evidence_text,
        links=links, files=files or [],
    )  # fmt: skip
    audit_record(
        actor=actor, action="review.checklist_updated", target=item.review,
        before={item.key: before}, after={item.key: after},
    )  # fmt: skip
    return item


@transaction.atomic
def review_checklist_save(
    *, review: Review, actor: Any, entries: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Record the answers and evidence of the checklist items in ``entries`` (by key) at once.

    All or nothing: every item is checked before any is stored, so a bad link in one
    item leaves the others as they were and no file on disk. A refusal is a
    ``ValidationError`` keyed by checklist key, each message naming its field. An
    empty answer is allowed (the item stays "not answered": people save as they go);
    items that did not change are left alone. One audit event lists what changed;
    returns the keys of the items that changed.
    """
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.status != ReviewStatus.OPEN:
        raise ValidationError("This review is decided; its checklist is frozen.")
    items = {
        item.key: item for item in ChecklistItem.objects.select_for_update().filter(review=review)
    }
    unknown = sorted(set(entries) - set(items))
    if unknown:
        raise ValidationError(f"This review has no checklist item {', '.join(unknown)}.")
    problems: dict[str, list[str]] = {}
    for key, entry in entries.items():
        found = _checklist_problems(
            links=_links(entry.get("evidence_links")), files=entry.get("files") or []
        )
        if found:
            label = {"evidence_links": "Evidence links", "files": "Evidence files"}
            problems[key] = [f"{label[name]}: {m}" for name, ms in found.items() for m in ms]
    if problems:
        raise ValidationError(problems)
    before, after = {}, {}
    for key, entry in entries.items():
        if _checklist_unchanged(items[key], entry):
            continue
        before[key], after[key] = _checklist_item_write(
            item=items[key], actor=actor, answer=entry.get("answer", ""),
            evidence_text=entry.get("evidence_text", ""),
            links=_links(entry.get("evidence_links")), files=entry.get("files") or [],
        )  # fmt: skip
    if after:
        audit_record(
            actor=actor, action="review.checklist_updated", target=review,
            before=before, after=after,
        )  # fmt: skip
    return list(after)


@transaction.atomic
def review_sign_off(*, sign_off: SignOff, actor: Any, decision: str, comment: str) -> SignOff:
    """Give ``sign_off`` (approve, reject or request changes) with a comment.

    Refused when the actor lacks the role (for the product-owner sign-off: is not
    the team's product owner or the one assigned), or submitted or owns the use case
    (separation of duties). When every required sign-off approves, the review is
    approved, its decision frozen, and the use case moves to approved; one
    rejection rejects the review.
    """
    sign_off = (
        SignOff.objects.select_for_update(of=("self",))
        .select_related("review__use_case__team")
        .get(pk=sign_off.pk)
    )
    review = sign_off.review
    use_case = review.use_case
    if review.status != ReviewStatus.OPEN:
        raise ValidationError(f"This review is already {review.get_status_display().lower()}.")
    if decision not in (
        SignOffDecision.APPROVED,
        SignOffDecision.REJECTED,
        SignOffDecision.CHANGES_REQUESTED,
    ):
        raise ValidationError({"decision": "Choose approve, reject or request changes."})
    refusal = sign_off_refusal(actor, sign_off)
    if refusal:
        raise ValidationError(refusal)
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
        if use_case.stage == Stage.REVIEW:
            usecase_move_stage(
                use_case=use_case, to_stage=Stage.APPROVED, actor=actor, note="Review approved"
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
