"""What governance adds to the use-case lifecycle (registered in ``GovernanceConfig.ready``).

Guards:
- a use case in the Prohibited lane cannot advance;
- a use case in the Reviewed lane reaches approved only through an approved review.

Steps:
- a new use case gets its lane from the current policy;
- changed intake recomputes the lane and the sign-offs an open review needs; a stricter
  lane, or a change to what an approved review froze, opens a new review and sends a
  use case past review back to it (as a follow-on move);
- entering review opens the review — or, in the Allowed lane, goes straight on to
  approved (a follow-on move); leaving review backwards withdraws its open review.

Entry words (said on the move's button, then linked in its message):
- entering review opens the five-point review, signed off by the roles it needs — or,
  in the Allowed lane, goes straight on to approved.

Obligation:
- a use case at approved or beyond, outside the Allowed lane, with no approved review
  (registered as found in production) owes one — linked to its governance page, where
  a review can be opened without moving it out of its stage.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from governance.choices import Lane, ReviewStatus, SignOffRole
from governance.selectors import (
    FROZEN_FIELDS,
    approved_review_missing,
    lane_assignment_of,
    required_sign_off_roles,
    review_latest,
    review_open_of,
)
from governance.services import (
    lane_assign,
    lane_assign_bulk,
    lane_of,
    lane_stricter_reason,
    review_open,
    review_reopen,
    review_sign_offs_sync,
    review_withdraw,
)
from usecases import lifecycle
from usecases.choices import Stage
from usecases.lifecycle import Condition, FollowOn, StageMove
from usecases.models import UseCase

ALLOWED_NOTE = "Allowed lane: no review needed"


def lane_guard(move: StageMove) -> Condition | None:
    """Prohibited use cases cannot advance; Reviewed ones reach approved only through a review.

    The condition links to where it is resolved: the lane on the use case's governance
    page, or the review that needs finishing (the governance page when there is none).
    """
    lane = lane_of(move.use_case, actor=move.actor)
    governance_page = reverse("governance:usecase", args=[move.use_case.pk])
    if lane.lane == Lane.PROHIBITED and move.advancing:
        return Condition(
            f"Prohibited lane — it cannot advance. {lane.reason}", governance_page, "See its lane"
        )
    if lane.lane == Lane.REVIEWED and (move.from_stage, move.to_stage) == (
        Stage.REVIEW,
        Stage.APPROVED,
    ):
        latest = review_latest(move.use_case)
        if latest is None or latest.status != ReviewStatus.APPROVED:
            text = f"Needs an approved review (Reviewed lane). {lane.reason}"
            if latest is None:
                return Condition(text, governance_page, "Open a review")
            return Condition(
                text, reverse("governance:review", args=[latest.pk]), "Open the review"
            )
    return None


def review_entry_before(use_case: UseCase) -> str | None:
    """What entering review will bring, in words: the review and who signs it off.

    Read-only (the lane as the policy would place it): a page showing the button writes nothing.
    """
    lane = lane_assignment_of(use_case)
    if lane.lane == Lane.ALLOWED:
        return "Allowed lane: no review needed, it goes straight on to Approved"
    if lane.lane == Lane.PROHIBITED:
        return None
    labels = [SignOffRole(role).label for role in required_sign_off_roles(use_case)]
    signers = ", ".join(labels[:-1]) + f" and {labels[-1]}" if len(labels) > 1 else labels[0]
    return f"opens the five-point review, signed off by {signers}"


def review_entry_after(use_case: UseCase) -> Condition | None:
    """The review that entering review opened, linked."""
    review = review_open_of(use_case)
    if review is None:
        return None
    return Condition(
        "The five-point review is open",
        reverse("governance:review", args=[review.pk]),
        "Open the review",
    )


def place_new_use_case(use_case: UseCase, actor: Any) -> None:
    """A new use case gets its lane from the current policy."""
    lane_assign(use_case=use_case, actor=actor)


def place_new_use_cases(use_cases: list[UseCase], actor: Any) -> None:
    """Many new use cases (an import) get their lanes from the current policy, in bulk."""
    lane_assign_bulk(use_cases=use_cases, actor=actor)


def review_after_change(use_case: UseCase, actor: Any, changed: frozenset[str]) -> FollowOn | None:
    """Recompute the lane and sign-offs; a stricter lane or a frozen change forces a new review."""
    reason = lane_stricter_reason(use_case=use_case, actor=actor)
    open_review = review_open_of(use_case)
    if open_review is not None:
        review_sign_offs_sync(review=open_review, actor=actor)
    frozen_changes = sorted(changed & set(FROZEN_FIELDS))
    latest = review_latest(use_case)
    approved_then_changed = (
        frozen_changes and latest is not None and latest.status == ReviewStatus.APPROVED
    )
    if not reason and approved_then_changed and lane_of(use_case).lane != Lane.ALLOWED:
        reason = f"Use case changed after its review was approved: {', '.join(frozen_changes)}"
    if not reason or review_reopen(use_case=use_case, actor=actor, reason=reason) is None:
        return None
    use_case.refresh_from_db(fields=["stage"])
    if use_case.stage in lifecycle.REVIEWED_STAGES:
        return FollowOn(Stage.REVIEW, reason[:300])
    return None


def review_after_move(move: StageMove) -> FollowOn | None:
    """Entering review opens the review (Allowed: on to approved); leaving it backwards withdraws it."""
    if move.from_stage == Stage.REVIEW and move.to_stage in (
        Stage.SCORING,
        Stage.IDEA,
        Stage.REJECTED,
    ):
        open_review = review_open_of(move.use_case)
        if open_review is not None:
            review_withdraw(
                review=open_review,
                actor=move.actor,
                reason=f"Use case moved from review to {move.to_stage.value}",
            )
        return None
    if move.to_stage != Stage.REVIEW:
        return None
    lane = lane_of(move.use_case, actor=move.actor)
    if lane.lane == Lane.ALLOWED:
        return FollowOn(Stage.APPROVED, ALLOWED_NOTE)
    if review_open_of(move.use_case) is None:
        review_open(
            use_case=move.use_case,
            actor=move.actor,
            reason=f"Entered review ({lane.get_lane_display()} lane)",
        )
    return None


def register() -> None:
    """Hook governance's guards and steps into the lifecycle."""
    lifecycle.register_guard("governance.lane", lane_guard)
    lifecycle.register_create_step("governance.lane", place_new_use_case)
    lifecycle.register_bulk_step("governance.lane", place_new_use_cases)
    lifecycle.register_change_step("governance.review", review_after_change)
    lifecycle.register_move_step("governance.review", review_after_move)
    lifecycle.register_entry_words(
        "governance.review", Stage.REVIEW, before=review_entry_before, after=review_entry_after
    )
    lifecycle.register_obligation(
        "governance.review",
        "no approved review",
        lifecycle.REVIEWED_STAGES,
        approved_review_missing,
        lambda use_case: reverse("governance:usecase", args=[use_case.pk]),
        "Open a review",
    )
