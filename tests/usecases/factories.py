"""Builders for use-case tests: through the services, so other apps' receivers run too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.factories import user_with_role
from usecases import scoring
from usecases.catalog import TEMPLATE_FIELDS, USE_CASE_TEMPLATES
from usecases.models import Score, Team, UseCase
from usecases.services import score_submit, usecase_create


def template_data(key: str = "collections_outreach", **overrides: Any) -> dict[str, Any]:
    """Intake data of a catalog template (with its team), overridden by ``overrides``."""
    template = USE_CASE_TEMPLATES[key]
    data = {name: template[name] for name in TEMPLATE_FIELDS if name != "team"}
    for name in ("minutes_per_case", "rework_share", "expected_automation_share"):
        data[name] = Decimal(str(data[name]))
    data["team"] = Team.objects.get_or_create(name=template["team"])[0]
    data.update(overrides)
    return data


def make_use_case(
    actor: Any, key: str = "collections_outreach", *, submit: bool = True, **overrides: Any
) -> UseCase:
    """A use case created from template ``key`` through ``usecase_create`` (submitted)."""
    data = template_data(key, **overrides)
    data.setdefault("owner", actor)
    return usecase_create(actor=actor, data=data, template_key=key, submit=submit)


def sheet(*values: int) -> dict[str, int]:
    """Criterion → value from five numbers in CRITERION_KEYS order."""
    return dict(zip(scoring.CRITERION_KEYS, values, strict=True))


def rate(use_case: UseCase, scorer: Any, *values: int) -> Score:
    """``scorer`` scores ``use_case`` with five values (and a rationale for each)."""
    return score_submit(
        use_case=use_case,
        scorer=scorer,
        values=sheet(*values),
        rationales={key: f"because {key}" for key in scoring.CRITERION_KEYS},
    )


def score_for_review(use_case: UseCase, *scorers: Any) -> list[Score]:
    """The score sheets the scoring model requires before review
    (``scoring.SHEETS_REQUIRED_FOR_REVIEW``), from ``scorers`` — fixed users made here when
    none are given — so a test can move ``use_case`` from scoring to review."""
    needed = scoring.SHEETS_REQUIRED_FOR_REVIEW
    people = list(scorers) or [
        user_with_role("Ops lead", username=f"review-scorer-{n}") for n in range(needed)
    ]
    return [rate(use_case, person, 4, 4, 3, 4, 3) for person in people[:needed]]
