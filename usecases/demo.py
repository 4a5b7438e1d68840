"""Demo organisation units, the five seed use cases (through the intake service), a scoring
model and scores.

Safe to run twice: units are found by name under their parent and use cases by template
key, the scoring model is created only if none exists, and a use case is scored only
once. A database from before the unit tree, whose functions (Support, Finance, …) are
top-level units, has them moved under their department rather than duplicated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from usecases import scoring
from usecases.catalog import TEMPLATE_FIELDS, USE_CASE_TEMPLATES
from usecases.models import Score, ScoringModel, Team, UseCase
from usecases.services import (
    score_submit,
    scoring_model_create,
    unit_create,
    unit_update,
    usecase_create,
)

# The demo organisation: three levels, the seed's functions (the catalog templates name
# their team by these leaf names) under three departments.
DEMO_ORGANISATION = "Northwind"
DEMO_UNITS: dict[str, tuple[str, ...]] = {
    "Customer operations": ("Support", "Sales", "Marketing"),
    "Finance & supply": ("Finance", "Operations", "Supply chain"),
    "People & technology": ("HR", "IT"),
}


def demo_units(*, actor: Any, product_owner: Any = None) -> dict[str, Team]:
    """The demo organisation's units (created or found; old top-level functions re-parented),
    leaf name → unit. Leaves without a product owner get ``product_owner``."""
    root = Team.objects.filter(parent=None, name=DEMO_ORGANISATION).first() or unit_create(
        actor=actor, name=DEMO_ORGANISATION
    )
    leaves = {}
    for department_name, leaf_names in DEMO_UNITS.items():
        department = Team.objects.filter(parent=root, name=department_name).first() or unit_create(
            actor=actor, name=department_name, parent=root
        )
        for name in leaf_names:
            leaf = Team.objects.filter(parent=department, name=name).first()
            if leaf is None:
                leaf = Team.objects.filter(parent=None, name=name).first()
                if leaf is not None:  # a function from before the tree: moved, not duplicated
                    leaf = unit_update(unit=leaf, actor=actor, parent=department)
                else:
                    leaf = unit_create(actor=actor, name=name, parent=department)
            if leaf.product_owner_id is None and product_owner is not None:
                leaf = unit_update(unit=leaf, actor=actor, product_owner=product_owner)
            leaves[name] = leaf
    return leaves


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
    units = demo_units(actor=users["admin"], product_owner=users["owner"])
    if not ScoringModel.objects.exists():
        scoring_model_create(actor=users["admin"], note="Demo: the default weights")
    created = scored = 0
    for key, template in USE_CASE_TEMPLATES.items():
        use_case = UseCase.objects.filter(template_key=key).first()
        if use_case is None:
            data = {name: template[name] for name in TEMPLATE_FIELDS if name != "team"}
            for name in ("minutes_per_case", "rework_share", "expected_automation_share"):
                data[name] = Decimal(str(data[name]))
            data["team"] = units[template["team"]]
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


def counts() -> list[tuple[int, str, str]]:
    """What the demo left, for ``load_demo``'s summary line: (how many, one, many)."""
    return [
        (UseCase.objects.count(), "use case", "use cases"),
        (Team.objects.count(), "organisation unit", "organisation units"),
    ]
