"""What the KPI app adds to the use-case lifecycle (registered in ``KpisConfig.ready``).

- guard: a use case leaves the idea stage (for anything but rejected) only with exactly
  one business KPI at the top of its stack;
- step: a use case created from a template gets that template's KPI stack;
- obligation: a use case past idea with no business KPI (registered as found in
  production, or its KPI deleted since) owes one — shown, linked to its KPI stack.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from kpis.selectors import BUSINESS_KPI_RULE, business_kpi_count, business_kpi_missing
from kpis.services import kpi_stack_create_from_template
from usecases import lifecycle
from usecases.choices import Stage
from usecases.models import UseCase


def business_kpi_guard(move: lifecycle.StageMove) -> lifecycle.Condition | None:
    """Leaving idea needs exactly one top business KPI; the condition says how many there
    are and links to the KPI stack, where one is added (or the extra ones moved down)."""
    if move.from_stage != Stage.IDEA or move.to_stage == Stage.REJECTED:
        return None
    count = business_kpi_count(move.use_case.pk)
    if count == 1:
        return None
    return lifecycle.Condition(
        f"Needs a business KPI: {BUSINESS_KPI_RULE[:1].lower()}{BUSINESS_KPI_RULE[1:]} "
        f"(this one has {count}).",
        reverse("kpis:usecase", args=[move.use_case.pk]),
        "Add one on the KPI stack" if count == 0 else "Keep one on the KPI stack",
    )


def build_template_stack(use_case: UseCase, actor: Any) -> None:
    """A use case created from a template gets that template's KPI stack."""
    if use_case.template_key:
        kpi_stack_create_from_template(use_case=use_case, actor=actor)


def register() -> None:
    """Hook the KPI app's guard and step into the lifecycle."""
    lifecycle.register_guard("kpis.business_kpi", business_kpi_guard)
    lifecycle.register_create_step("kpis.template_stack", build_template_stack)
    lifecycle.register_obligation(
        "kpis.business_kpi",
        "no business KPI",
        # Every stage past the guard (leaving idea); closed stages owe nothing.
        (s for s in lifecycle.ORDER if lifecycle.ORDER[s] > lifecycle.ORDER[Stage.IDEA]),
        business_kpi_missing,
        lambda use_case: reverse("kpis:usecase", args=[use_case.pk]),
        "Define its business KPI",
    )
