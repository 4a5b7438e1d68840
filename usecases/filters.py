"""The portfolio's filters and sort order, shared by the page, its exports and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import CharField, F, Func, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from usecases.choices import CustomFieldKind, Stage, ValueBucket
from usecases.custom_fields import custom_fields, custom_value_parse
from usecases.forms import UnitSelect
from usecases.models import CustomField, Team, UseCase
from usecases.risk import risk_class_choices
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


CUSTOM_VALUE_PARAMS = ("custom_value", "custom_from", "custom_to")


class UseCaseFilterForm(forms.Form):
    """Checks a custom-field filter's value against the chosen field's kind."""

    custom_field_def: CustomField | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        key = data.get("custom_field")
        field = CustomField.objects.filter(key=key).first() if key else None
        self.custom_field_def = field
        if field is None:
            return data
        ranged = field.kind in (CustomFieldKind.NUMBER, CustomFieldKind.DATE)
        exact = field.kind in (CustomFieldKind.CHOICE, CustomFieldKind.YES_NO)
        for name in CUSTOM_VALUE_PARAMS:
            checked = exact if name == "custom_value" else ranged
            if checked and data.get(name):
                _, problem = custom_value_parse(field, data[name])
                if problem:
                    self.add_error(name, f"{field.label} {problem}")
        return data


class _UnitField(django_filters.fields.ModelChoiceField):
    widget = UnitSelect

    def label_from_instance(self, obj: Team) -> str:
        return obj.path_label or obj.name


class UnitFilter(django_filters.ModelChoiceFilter):
    """An organisation unit, listed by its path (``Northwind › Finance & supply``)."""

    field_class = _UnitField


@extend_schema_field(OpenApiTypes.STR)
class _CustomFieldFilter(django_filters.ChoiceFilter):
    """A custom field's key (its choices are the fields admins defined, read per request)."""


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
    risk_class = django_filters.ChoiceFilter(choices=risk_class_choices, label="Risk class")
    high_impact = _flag_filter("High-impact")
    # A custom field and a value: exact for a choice or yes/no, "contains" for text and
    # URLs, a from/to range for numbers and dates (``filter_custom``).
    # Lazy choices: the custom fields are read only when the form is shown or this
    # filter is used, so the API list pays no query for it.
    custom_field = _CustomFieldFilter(
        choices=lambda: [(f.key, f.label) for f in custom_fields()],
        label="Custom field",
        method="filter_custom",
    )
    custom_value = django_filters.CharFilter(
        label="Custom value (is / contains)", method="filter_nothing", max_length=200
    )
    custom_from = django_filters.CharFilter(
        label="Custom from", method="filter_nothing", max_length=40
    )
    custom_to = django_filters.CharFilter(label="Custom to", method="filter_nothing", max_length=40)
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES, method="sort_by", label="Sort by", empty_label="Score, best first"
    )

    class Meta:
        model = UseCase
        fields: list[str] = []
        form = UseCaseFilterForm

    def filter_nothing(
        self, queryset: QuerySet[UseCase], name: str, value: Any
    ) -> QuerySet[UseCase]:
        return queryset  # read by filter_custom

    def filter_custom(self, queryset: QuerySet[UseCase], name: str, key: str) -> QuerySet[UseCase]:
        """Filter on one custom field's value in PostgreSQL (JSON lookups on ``custom``)."""
        field = getattr(self.form, "custom_field_def", None)
        if field is None or any(n in self.form.errors for n in CUSTOM_VALUE_PARAMS):
            return queryset  # deleted since, or a bad value: named on the form, not applied
        data = self.form.cleaned_data
        value = (data.get("custom_value") or "").strip()
        if field.kind in (CustomFieldKind.NUMBER, CustomFieldKind.DATE):
            return self._custom_range(queryset, field, data)
        if not value:
            return queryset.filter(custom__has_key=key)  # any value at all
        if field.kind in (CustomFieldKind.CHOICE, CustomFieldKind.YES_NO):
            parsed, _ = custom_value_parse(field, value)
            stored = KeyTransform(key, "custom")
            return queryset.alias(custom_match=stored).filter(custom_match=parsed)
        text = KeyTextTransform(key, "custom")
        return queryset.alias(custom_text=text).filter(custom_text__icontains=value)

    def _custom_range(
        self, queryset: QuerySet[UseCase], field: Any, data: dict[str, Any]
    ) -> QuerySet[UseCase]:
        # Only values of the field's own kind take part: one stored as text (the field
        # changed kind since) is neither above nor below a number.
        bounds = {}
        for name, lookup in (("custom_from", "gte"), ("custom_to", "lte")):
            parsed, _ = custom_value_parse(field, data.get(name))  # checked by the form
            if parsed is not None:
                bounds[lookup] = parsed
        stored = KeyTransform(field.key, "custom")
        kind_type = "number" if field.kind == CustomFieldKind.NUMBER else "string"
        queryset = queryset.alias(
            custom_match=stored,
            custom_type=Func(stored, function="jsonb_typeof", output_field=CharField()),
        ).filter(custom_type=kind_type)
        if field.kind == CustomFieldKind.DATE:
            text = KeyTextTransform(field.key, "custom")
            queryset = queryset.alias(custom_text=text).filter(
                custom_text__regex=r"^\d{4}-\d{2}-\d{2}$",
                **{f"custom_text__{lookup}": bound for lookup, bound in bounds.items()},
            )
            return queryset
        return queryset.filter(
            **{f"custom_match__{lookup}": bound for lookup, bound in bounds.items()}
        )

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
