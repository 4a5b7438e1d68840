"""Demo teams and the five seed use cases, built from the intake templates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from usecases.catalog import TEMPLATE_FIELDS, USE_CASE_TEMPLATES
from usecases.choices import TeamFunction
from usecases.models import Team, UseCase


def load(users: dict[str, Any]) -> dict[str, int]:
    owner = users["owner"]
    for function in TeamFunction:
        team, _ = Team.objects.get_or_create(name=function.value)
        if team.product_owner_id is None:
            team.product_owner = owner
            team.save(update_fields=["product_owner"])
    created = 0
    for key, template in USE_CASE_TEMPLATES.items():
        fields = {name: template[name] for name in TEMPLATE_FIELDS if name != "team"}
        for name in ("minutes_per_case", "rework_share", "expected_automation_share"):
            fields[name] = Decimal(str(fields[name]))
        _, was_created = UseCase.objects.get_or_create(
            template_key=key,
            defaults={
                **fields,
                "team": Team.objects.get(name=template["team"]),
                "owner": users["ops"],
                "submitted_by": users["ops"],
            },
        )
        created += was_created
    return {"teams": Team.objects.count(), "use_cases_created": created}
