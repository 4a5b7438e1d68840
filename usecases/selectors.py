"""Reads for use cases."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from usecases.choices import Stage
from usecases.models import UseCase


def usecase_list() -> QuerySet[UseCase]:
    """Every use case with its team and owner, ready for a table."""
    return UseCase.objects.select_related("team", "owner")


def usecase_stage_counts() -> list[dict[str, object]]:
    """How many use cases sit in each stage, in lifecycle order (one query)."""
    counts = dict(
        UseCase.objects.values_list("stage").annotate(n=Count("pk")).values_list("stage", "n")
    )
    return [
        {"stage": stage.label, "value": stage.value, "count": counts.get(stage.value, 0)}
        for stage in Stage
    ]
