"""Lanes: which policy rule puts a use case in Allowed, Reviewed or Prohibited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record, audit_record_many
from governance.choices import (
    LANE_STRICTNESS,
    Lane,
)
from governance.models import (
    LaneAssignment,
    LanePolicy,
    LaneRule,
)
from governance.policy import DEFAULT_POLICY_RULES, LANE_ATTRIBUTES
from governance.selectors import (
    lane_decide,
    lane_policy_current,
)
from governance.services.reviews import review_require_again
from opsai.bulk import bulk_insert
from opsai.permissions import acting_user
from usecases.models import UseCase

# --- Lanes ------------------------------------------------------------------------------------


@transaction.atomic
def lane_assign(
    *, use_case: UseCase, actor: Any, policy: LanePolicy | None = None
) -> LaneAssignment:
    """Put ``use_case`` in the lane the current policy gives it, recording which rule and why.

    It only places the use case; whoever calls it decides what a stricter lane means
    (see :func:`lane_stricter_reason`).
    """
    return _lane_place(use_case=use_case, actor=actor, policy=policy)[0]


def lane_stricter_reason(*, use_case: UseCase, actor: Any, policy: LanePolicy | None = None) -> str:
    """Place ``use_case`` in its lane; if that lane is stricter than before, say why (else "")."""
    return _lane_place(use_case=use_case, actor=actor, policy=policy)[1]


@transaction.atomic
def _lane_place(
    *, use_case: UseCase, actor: Any, policy: LanePolicy | None
) -> tuple[LaneAssignment, str]:
    policy = policy or lane_policy_current() or lane_policy_ensure_default()
    lane, rule, reason = lane_decide(policy=policy, use_case=use_case)
    current = LaneAssignment.objects.select_for_update().filter(use_case=use_case).first()
    if current and (current.lane, current.rule_id, current.policy_id) == (
        lane,
        getattr(rule, "pk", None),
        policy.pk,
    ):
        return current, ""
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
        return assignment, (
            f"Lane moved from {Lane(previous_lane).label} to {Lane(lane).label}: {reason}"
        )
    return assignment, ""


@transaction.atomic
def lane_assign_bulk(*, use_cases: list[UseCase], actor: Any) -> list[LaneAssignment]:
    """Place many new use cases (none has a lane yet) in the lanes the current policy gives them.

    The policy is evaluated in memory, exactly as :func:`lane_assign` does one by one; the
    assignments and their ``lane.assigned`` audit events are written in two bulk inserts.
    """
    current = lane_policy_current() or lane_policy_ensure_default()
    policy = LanePolicy.objects.prefetch_related("rules").get(pk=current.pk)
    # Creating the default policy just now (a database whose policies were flushed) has
    # re-placed every use case, these included: those already have their lane.
    placed = set(
        LaneAssignment.objects.filter(use_case__in=[u.pk for u in use_cases]).values_list(
            "use_case_id", flat=True
        )
    )
    now = timezone.now()
    assignments = []
    for use_case in (u for u in use_cases if u.pk not in placed):
        lane, rule, reason = lane_decide(policy=policy, use_case=use_case)
        assignments.append(
            LaneAssignment(
                use_case=use_case,
                lane=lane,
                rule=rule,
                policy=policy,
                reason=reason[:500],
                assigned_at=now,
            )
        )
    bulk_insert(LaneAssignment, assignments)
    audit_record_many(
        actor=actor,
        action="lane.assigned",
        events=(
            (
                a.use_case,
                None,
                {
                    "lane": a.lane,
                    "policy_version": policy.version,
                    "rule": getattr(a.rule, "name", ""),
                    "reason": a.reason,
                },
            )
            for a in assignments
        ),
    )
    return assignments


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
        version=(latest.version + 1) if latest else 1, note=note, created_by=acting_user(actor)
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
        stricter = lane_stricter_reason(use_case=use_case, actor=actor, policy=policy)
        if stricter:
            review_require_again(use_case=use_case, actor=actor, reason=stricter)
    return policy


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)
