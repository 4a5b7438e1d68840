"""KPI definitions: create and change KPIs, build a template's stack, keep the business-KPI rule."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import audit_record
from kpis.models import KPI
from kpis.selectors import BUSINESS_KPI_RULE, business_kpi_count
from usecases.catalog import USE_CASE_TEMPLATES
from usecases.choices import Stage
from usecases.lifecycle import CLOSED_STAGES
from usecases.models import UseCase

KPI_DEFINITION_FIELDS = [
    "name",
    "level",
    "parent_id",
    "unit",
    "direction",
    "baseline_value",
    "baseline_start",
    "baseline_end",
    "target_value",
    "target_type",
    "target_date",
    "owner_id",
    "cadence",
    "source",
    "guardrail_threshold",
    "value_per_unit",
    "alert_after_snapshots",
]


def _definition(kpi: KPI) -> dict[str, Any]:
    """The KPI's definition as JSON-safe values, for audit before/after."""
    definition: dict[str, Any] = {}
    for name in KPI_DEFINITION_FIELDS:
        value = getattr(kpi, name)
        plain = value is None or isinstance(value, bool | int | float | str)
        definition[name] = value if plain else str(value)
    return definition


def _check_business_kpi_rule(use_case: UseCase) -> None:
    """Past the idea stage a use case keeps exactly one business KPI at the top of its stack."""
    stage = UseCase.objects.filter(pk=use_case.pk).values_list("stage", flat=True).first()
    if stage in (Stage.IDEA, *CLOSED_STAGES):
        return
    count = business_kpi_count(use_case.pk)
    if count != 1:
        raise ValidationError(
            {"level": f"{BUSINESS_KPI_RULE}; this change would leave it with {count}."}
        )


@transaction.atomic
def kpi_create(*, actor: Any, use_case: UseCase, **fields: Any) -> KPI:
    """Add a KPI to ``use_case``'s stack after validating it."""
    kpi = KPI(use_case=use_case, **fields)
    kpi.full_clean()
    kpi.save()
    _check_business_kpi_rule(use_case)
    audit_record(actor=actor, action="kpi.created", target=kpi, after=_definition(kpi))
    return kpi


@transaction.atomic
def kpi_update(*, actor: Any, kpi: KPI, **fields: Any) -> KPI:
    """Change a KPI's definition (target, baseline, owner…), recording before and after."""
    kpi = KPI.objects.select_for_update().get(pk=kpi.pk)
    before = _definition(kpi)
    for name, value in fields.items():
        setattr(kpi, name, value)
    kpi.full_clean()
    kpi.save()
    _check_business_kpi_rule(kpi.use_case)
    after = _definition(kpi)
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    if changed:
        audit_record(
            actor=actor,
            action="kpi.updated",
            target=kpi,
            before={k: before[k] for k in changed},
            after=changed,
        )
    return kpi


@transaction.atomic
def kpi_stack_create_from_template(*, use_case: UseCase, actor: Any = None) -> list[KPI]:
    """Create the KPI stack of ``use_case.template_key`` (KPIs that already exist are kept)."""
    template = USE_CASE_TEMPLATES.get(use_case.template_key)
    if not template:
        return []
    existing = {kpi.name: kpi for kpi in KPI.objects.filter(use_case=use_case)}
    created: list[KPI] = []
    for spec in template["kpis"]:
        if spec["name"] in existing:
            continue
        parent = existing.get(spec["parent"]) if spec["parent"] else None
        kpi = kpi_create(
            actor=actor,
            use_case=use_case,
            name=spec["name"],
            level=spec["level"],
            unit=spec["unit"],
            direction=spec["direction"],
            parent=parent,
            owner=use_case.owner,
        )
        existing[kpi.name] = kpi
        created.append(kpi)
    return created
