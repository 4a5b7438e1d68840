"""Receivers for use-case signals: build template KPI stacks, veto leaving idea without one business KPI."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from kpis.choices import Level
from kpis.models import KPI
from usecases.choices import Stage
from usecases.models import UseCase

BUSINESS_KPI_RULE = (
    "Every use case that leaves the idea stage has exactly one business KPI at the top of its stack"
)


def build_template_stack(sender: Any, use_case: UseCase, actor: Any = None, **_: Any) -> None:
    """When a use case is created from a template, create that template's KPI stack."""
    from kpis.services import kpi_stack_create_from_template

    if use_case.template_key:
        kpi_stack_create_from_template(use_case=use_case, actor=actor)


def veto_leaving_idea_without_business_kpi(
    sender: Any, use_case: UseCase, from_stage: str, to_stage: str, **_: Any
) -> None:
    """Refuse to move a use case out of ``idea`` unless it has exactly one top business KPI."""
    if from_stage != Stage.IDEA or to_stage == Stage.REJECTED:
        return
    business = KPI.objects.filter(use_case=use_case, level=Level.BUSINESS, parent__isnull=True)
    count = business.count()
    if count != 1:
        raise ValidationError(
            {
                "stage": f"{BUSINESS_KPI_RULE} (this one has {count}). Define it on the KPI stack first."
            }
        )
