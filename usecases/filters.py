"""The portfolio's filters and sort order, shared by the page, its exports and the API."""

from __future__ import annotations

import django_filters
from django.db.models import F, QuerySet

from usecases.choices import Stage, ValueBucket
from usecases.forms import UnitSelect
from usecases.models import Team, UseCase
from usecases.units import unit_subtree_q

YES_NO_ANY = [("", "Any"), ("true", "Yes"), ("false", "No")]

# sort key → (annotated field, label); "-key" sorts descending.
SORTS = {
    # The consensus the viewer may see: null while blind scoring hides it, so a blind
    # scorer's "by score" order cannot give the hidden ranks away.
    "score": "ranked_score",
    "title": "title",
    "team": "team__path_label",
    "stage": "stage",
    "bucket": "value_bucket",
    "value": "est_cost",
}
SORT_LABELS = {
    "score": "Score",
    "title": "Title",
    "team": "Unit",
    "stage": "Stage",
    "bucket": "Value bucket",
    "value": "Estimated value",
}
SORT_CHOICES = [
    choice
    for key, label in SORT_LABELS.items()
    for choice in ((f"-{key}", f"{label} ↓"), (key, f"{label} ↑"))
]


def _flag_filter(label: str, *, from_scores: bool = False) -> django_filters.TypedChoiceFilter:
    return django_filters.TypedChoiceFilter(
        label=label,
        choices=YES_NO_ANY,
        coerce=lambda v: v == "true",
        empty_value=None,
        method=_filter_score_flag if from_scores else None,
    )


def _filter_score_flag(queryset: QuerySet[UseCase], name: str, value: bool) -> QuerySet[UseCase]:
    # A flag derived from the scores is unknown to a blind scorer: such rows match neither
    # "yes" nor "no", or the filter would tell them what the hidden scores say.
    return queryset.filter(**{name: value, "score_hidden": False})


class _UnitField(django_filters.fields.ModelChoiceField):
    widget = UnitSelect

    def label_from_instance(self, obj: Team) -> str:
        return obj.path_label or obj.name


class UnitFilter(django_filters.ModelChoiceFilter):
    """An organisation unit, listed by its path (``Northwind › Finance & supply``)."""

    field_class = _UnitField


class UseCaseFilterSet(django_filters.FilterSet):
    """Filter the annotated portfolio (``usecases.selectors.usecase_portfolio``)."""

    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title")
    # Any unit of the tree, by its path; the unit and every unit below it (one indexed WHERE).
    team = UnitFilter(
        queryset=Team.objects.order_by("path_label", "pk"),
        method="in_unit",
        label="Unit",
        empty_label="Every unit",
    )
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    value_bucket = django_filters.ChoiceFilter(choices=ValueBucket.choices, label="Value bucket")
    radar_hit = _flag_filter("Radar hit")
    quick_win = _flag_filter("Quick win", from_scores=True)
    political_thriller = _flag_filter("Political thriller")
    needs_calibration = _flag_filter("Needs calibration", from_scores=True)
    min_score = django_filters.NumberFilter(
        field_name="ranked_score", lookup_expr="gte", label="Score at least"
    )
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES, method="sort_by", label="Sort by", empty_label="Score, best first"
    )

    class Meta:
        model = UseCase
        fields: list[str] = []

    def in_unit(self, queryset: QuerySet[UseCase], name: str, value: Team) -> QuerySet[UseCase]:
        return queryset.filter(unit_subtree_q(value))

    def sort_by(self, queryset: QuerySet[UseCase], name: str, value: str) -> QuerySet[UseCase]:
        # Unscored use cases (no consensus) stay last whichever way the column is sorted.
        expression = F(SORTS[value.lstrip("-")])
        key = (
            expression.desc(nulls_last=True)
            if value.startswith("-")
            else expression.asc(nulls_last=True)
        )
        return queryset.order_by(key, "title", "pk")
