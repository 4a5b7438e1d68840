"""Writes for use cases. Every state change records an audit event in its transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance.services import audit_record
from usecases.choices import STAGE_TRANSITIONS, Stage
from usecases.models import StageChange, UseCase
from usecases.signals import usecase_stage_changed, usecase_stage_changing


@transaction.atomic
def usecase_move_stage(*, use_case: UseCase, to_stage: str, actor: Any, note: str = "") -> UseCase:
    """Move ``use_case`` to ``to_stage`` if the lifecycle allows it, recording who and when."""
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    from_stage = use_case.stage
    if to_stage not in STAGE_TRANSITIONS.get(from_stage, ()):
        allowed = ", ".join(Stage(s).label for s in STAGE_TRANSITIONS.get(from_stage, ())) or "none"
        raise ValidationError(
            {
                "stage": f"Cannot move from {Stage(from_stage).label} to "
                f"{Stage(to_stage).label if to_stage in Stage.values else to_stage}; allowed: {allowed}."
            }
        )
    # Other apps may veto (a Prohibited lane, a missing business KPI) by raising.
    usecase_stage_changing.send(
        sender=UseCase, use_case=use_case, actor=actor, from_stage=from_stage, to_stage=to_stage
    )
    now = timezone.now()
    use_case.stage = to_stage
    use_case.stage_entered_at = now
    use_case.save(update_fields=["stage", "stage_entered_at", "updated_at"])
    StageChange.objects.create(
        use_case=use_case,
        from_stage=from_stage,
        to_stage=to_stage,
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        changed_at=now,
        note=note,
    )
    audit_record(
        actor=actor,
        action="usecase.stage_moved",
        target=use_case,
        before={"stage": from_stage},
        after={"stage": to_stage, "note": note},
    )
    usecase_stage_changed.send(
        sender=UseCase, use_case=use_case, actor=actor, from_stage=from_stage, to_stage=to_stage
    )
    return use_case
