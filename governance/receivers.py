"""Receivers: governance reacts to use-case changes and KPI alerts, inside their transactions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from governance.choices import Lane, ReviewStatus
from governance.models import Review
from governance.selectors import FROZEN_FIELDS, review_latest
from governance.services import (
    STAGE_ORDER,
    guardrail_breach_handle,
    lane_assign,
    lane_of,
    review_open,
    review_require_again,
    review_sign_offs_sync,
    review_withdraw,
)
from usecases.models import UseCase

ALLOWED_NOTE = "Allowed lane: no review needed"


def place_new_use_case(sender: Any, use_case: UseCase, actor: Any = None, **_: Any) -> None:
    """A new use case gets its lane from the current policy."""
    lane_assign(use_case=use_case, actor=actor)


def recompute_lane(
    sender: Any, use_case: UseCase, actor: Any = None, changed_fields: Any = (), **_: Any
) -> None:
    """Intake changed: recompute the lane; a change to what a decided review froze forces a new one."""
    lane_assign(use_case=use_case, actor=actor)
    open_review = Review.objects.filter(use_case=use_case, status=ReviewStatus.OPEN).first()
    if open_review is not None:
        review_sign_offs_sync(review=open_review, actor=actor)
    frozen_changes = sorted(set(changed_fields) & set(FROZEN_FIELDS))
    latest = review_latest(use_case)
    if frozen_changes and latest is not None and latest.status == ReviewStatus.APPROVED:
        lane = lane_of(use_case, actor=actor)
        if lane.lane != Lane.ALLOWED:
            review_require_again(
                use_case=use_case,
                actor=actor,
                reason=f"Use case changed after its review was approved: {', '.join(frozen_changes)}",
            )


def veto_stage_move(
    sender: Any, use_case: UseCase, from_stage: str, to_stage: str, actor: Any = None, **_: Any
) -> None:
    """Prohibited use cases cannot advance; Reviewed ones reach approved only through a review."""
    lane = lane_of(use_case, actor=actor)
    advancing = STAGE_ORDER.get(to_stage, -1) > STAGE_ORDER.get(from_stage, 99)
    if lane.lane == Lane.PROHIBITED and advancing:
        raise ValidationError({"stage": f"Prohibited lane — it cannot advance. {lane.reason}"})
    if lane.lane == Lane.REVIEWED and from_stage == "review" and to_stage == "approved":
        latest = review_latest(use_case)
        if latest is None or latest.status != ReviewStatus.APPROVED:
            raise ValidationError(
                {
                    "stage": f"Reviewed lane — it needs an approved review before it is approved. {lane.reason}"
                }
            )


def after_stage_move(
    sender: Any, use_case: UseCase, from_stage: str, to_stage: str, actor: Any = None, **_: Any
) -> None:
    """Entering review: Allowed goes straight on to approved; otherwise a review opens.

    Leaving review backwards (to scoring, idea, rejected) withdraws its open review.
    """
    if from_stage == "review" and to_stage in ("scoring", "idea", "rejected"):
        open_review = Review.objects.filter(use_case=use_case, status=ReviewStatus.OPEN).first()
        if open_review is not None:
            review_withdraw(
                review=open_review, actor=actor, reason=f"Use case moved from review to {to_stage}"
            )
        return
    if to_stage != "review":
        return
    lane = lane_of(use_case, actor=actor)
    if lane.lane == Lane.ALLOWED:
        from usecases.services import usecase_move_stage

        usecase_move_stage(use_case=use_case, to_stage="approved", actor=actor, note=ALLOWED_NOTE)
    elif not Review.objects.filter(use_case=use_case, status=ReviewStatus.OPEN).exists():
        review_open(
            use_case=use_case,
            actor=actor,
            reason=f"Entered review ({lane.get_lane_display()} lane)",
        )


def guardrail_alert(sender: Any, kpi: Any, alert: Any = None, reason: str = "", **_: Any) -> None:
    """A guardrail KPI crossed its threshold: pause auto-pausing workers and open an incident."""
    if reason != "guardrail":
        return
    threshold = getattr(kpi, "guardrail_threshold", None)
    what = f"{kpi} crossed its guardrail" + (f" ({threshold})" if threshold is not None else "")
    source_key = f"kpis.alert:{alert.pk}" if getattr(alert, "pk", None) else ""
    guardrail_breach_handle(use_case=kpi.use_case, what=what, source_key=source_key)
