"""Demo teams, the five seed use cases (through the intake service), a scoring model and scores.

Safe to run twice: teams and use cases are found by name / template key, the
scoring model is created only if none exists, and a use case is scored only once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from usecases import scoring
from usecases.catalog import TEMPLATE_FIELDS, USE_CASE_TEMPLATES
from usecases.choices import TeamFunction
from usecases.models import Score, ScoringModel, Team, UseCase
from usecases.services import score_submit, scoring_model_create, usecase_create

# Two scorers per use case: (ops, admin), each criterion in CRITERION_KEYS order.
# Recruiting screening is scored far apart on purpose: it shows the calibration flag.
DEMO_SCORES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "support_triage": ((5, 4, 4, 4, 3), (4, 4, 3, 4, 3)),
    "quote_to_cash_exceptions": ((4, 3, 3, 2, 3), (5, 2, 3, 2, 2)),
    "collections_outreach": ((5, 4, 4, 5, 4), (4, 5, 4, 5, 4)),
    "recruiting_screening": ((3, 3, 2, 3, 2), (2, 4, 2, 3, 4)),
    "marketing_content_ops": ((3, 4, 3, 5, 4), (4, 4, 3, 5, 3)),
}


def load(users: dict[str, Any]) -> dict[str, int]:
    owner = users["owner"]
    for function in TeamFunction:
        team, _ = Team.objects.get_or_create(name=function.value)
        if team.product_owner_id is None:
            team.product_owner = owner
            team.save(update_fields=["product_owner"])
    if not ScoringModel.objects.exists():
        scoring_model_create(actor=users["admin"], note="Demo: the default weights")
    created = scored = 0
    for key, template in USE_CASE_TEMPLATES.items():
        use_case = UseCase.objects.filter(template_key=key).first()
        if use_case is None:
            data = {name: template[name] for name in TEMPLATE_FIELDS if name != "team"}
            for name in ("minutes_per_case", "rework_share", "expected_automation_share"):
                data[name] = Decimal(str(data[name]))
            data["team"] = Team.objects.get(name=template["team"])
            data["owner"] = users["ops"]
            use_case = usecase_create(actor=users["ops"], data=data, template_key=key, submit=True)
            created += 1
        if (
            key in DEMO_SCORES
            and not use_case.is_draft
            and not Score.objects.filter(use_case=use_case).exists()
        ):
            for scorer, values in zip(
                (users["ops"], users["admin"]), DEMO_SCORES[key], strict=True
            ):
                score_submit(
                    use_case=use_case,
                    scorer=scorer,
                    values=dict(zip(scoring.CRITERION_KEYS, values, strict=True)),
                    rationales=dict.fromkeys(
                        scoring.CRITERION_KEYS, "Demo score from the seed's matrix."
                    ),
                )
            scored += 1
    return {"teams": Team.objects.count(), "use_cases_created": created, "use_cases_scored": scored}
