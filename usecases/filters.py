"""The portfolio's filters and sort order, shared by the page, its exports and the API."""

from __future__ import annotations

import django_filters
from django.db.models import F, QuerySet

from usecases.choices import Stage, ValueBucket
from usecases.models import Team, UseCase

YES_NO_ANY = [("", "Any"), ("true", "Yes"), ("false", "No")]

# sort key → (annotated field, label); "-key" sorts descending.
SORTS = {
    "score": "consensus",
    "title": "title",
    "team": "team__name",
    "stage": "stage",
    "bucket": "value_bucket",
    "value": "est_cost",
}
SORT_LABELS = {
    "score": "Score",
    "title": "Title",
    "team": "Team",
    "stage": "Stage",
    "bucket": "Value bucket",
    "value": "Estimated value",
}
SORT_CHOICES = [
    choice
    for key, label in SORT_LABELS.items()
    for choice in ((f"-{key}", f"{label} ↓"), (key, f"{label} ↑"))
]


def _flag_filter(label: str) -> django_filters.TypedChoiceFilter:
    return django_filters.TypedChoiceFilter(
        label=label, choices=YES_NO_ANY, coerce=lambda v: v == "true", empty_value=None
    )


class UseCaseFilterSet(django_filters.FilterSet):
    """Filter the annotated portfolio (``usecases.selectors.usecase_portfolio``)."""

    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title")
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.order_by("name"))
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    value_bucket = django_filters.ChoiceFilter(choices=ValueBucket.choices, label="Value bucket")
    radar_hit = _flag_filter("Radar hit")
    quick_win = _flag_filter("Quick win")
    political_thriller = _flag_filter("Political thriller")
    needs_calibration = _flag_filter("Needs calibration")
    min_score = django_filters.NumberFilter(
        field_name="consensus", lookup_expr="gte", label="Score at least"
    )
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES, method="sort_by", label="Sort by", empty_label="Score, best first"
    )

    class Meta:
        model = UseCase
        fields: list[str] = []

    def sort_by(self, queryset: QuerySet[UseCase], name: str, value: str) -> QuerySet[UseCase]:
        # Unscored use cases (no consensus) stay last whichever way the column is sorted.
        expression = F(SORTS[value.lstrip("-")])
        key = (
            expression.desc(nulls_last=True)
            if value.startswith("-")
            else expression.asc(nulls_last=True)
        )
        return queryset.order_by(key, "title", "pk")
