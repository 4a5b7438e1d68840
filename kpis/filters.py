"""The KPI API's filters: one filter set per list, each parameter validated by its form field.

A value a field cannot read is a 400 naming the parameter (django-filter's DRF backend
raises the form's errors; ``opsai.api`` gives them the API's error shape). An empty
parameter filters nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from kpis.choices import AlertState, Level
from kpis.models import KPI, Alert, Annotation, CheckIn, Measurement, Snapshot
from opsai import bounds


class InstantField(forms.Field):
    """An ISO 8601 date or date-time as an aware datetime.

    A date means its midnight; a date-time without an offset means UTC, not the server's
    time zone, so an API client gets the same rows wherever opsai runs. The instant is
    converted to UTC and must lie within ``opsai.bounds``' window (an offset such as
    ``+14:00`` on year 1 cannot even be converted).
    """

    default_error_messages = {"invalid": "Use an ISO 8601 date or date-time."}

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        try:
            parsed = parse_datetime(value) or parse_date(value)
        except ValueError:  # well-formed but impossible, e.g. month 13
            parsed = None
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if not isinstance(parsed, datetime):
            parsed = datetime.combine(parsed, time.min)
        try:
            return bounds.instant_utc(parsed)
        except ValueError as error:
            raise ValidationError(f"This date-time {error}.", code="range") from None


class IsoDateField(forms.Field):
    """A calendar date as ISO 8601 (``YYYY-MM-DD``), read by ``date.fromisoformat``."""

    default_error_messages = {"invalid": "Use a date as YYYY-MM-DD."}

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    """A related object by its id: a whole number (else a 400); an unknown id matches nothing."""

    field_class = forms.IntegerField


@extend_schema_field(
    {"type": "string", "description": "ISO 8601 date or date-time; without an offset, UTC."}
)
class InstantFilter(django_filters.Filter):
    """An instant given as an ISO 8601 date or date-time (see ``InstantField``)."""

    field_class = InstantField


@extend_schema_field(OpenApiTypes.DATE)
class IsoDateFilter(django_filters.Filter):
    """A calendar date given as ``YYYY-MM-DD``."""

    field_class = IsoDateField


class KPIFilterSet(django_filters.FilterSet):
    """KPIs of one use case: ``?use_case=<id>``."""

    use_case = IdFilter(field_name="use_case_id")

    class Meta:
        model = KPI
        fields: list[str] = []


class MeasurementFilterSet(django_filters.FilterSet):
    """Measurements of one KPI (``?kpi=<id>``) taken at or after ``?since=<date or date-time>``."""

    kpi = IdFilter(field_name="kpi_id")
    since = InstantFilter(field_name="timestamp", lookup_expr="gte")

    class Meta:
        model = Measurement
        fields: list[str] = []


class SnapshotFilterSet(django_filters.FilterSet):
    """Snapshots of one KPI (``?kpi=<id>``) as of one day (``?as_of=YYYY-MM-DD``)."""

    kpi = IdFilter(field_name="kpi_id")
    as_of = IsoDateFilter()

    class Meta:
        model = Snapshot
        fields: list[str] = []


class CheckInFilterSet(django_filters.FilterSet):
    """Check-ins of one KPI: ``?kpi=<id>``."""

    kpi = IdFilter(field_name="kpi_id")

    class Meta:
        model = CheckIn
        fields: list[str] = []


class AnnotationFilterSet(django_filters.FilterSet):
    """Chart markers of one use case: ``?use_case=<id>``."""

    use_case = IdFilter(field_name="use_case_id")

    class Meta:
        model = Annotation
        fields: list[str] = []


class AlertFilterSet(django_filters.FilterSet):
    """Alerts in one state: ``?state=pending|firing|resolved``."""

    state = django_filters.ChoiceFilter(choices=AlertState.choices)

    class Meta:
        model = Alert
        fields: list[str] = []


# The KPI page's orders: ``?sort=`` key → the field (``-key`` reverses it).
KPI_LIST_SORTS = {
    "usecase": "use_case__title",
    "kpi": "name",
    "level": "level",
    "change": "current_snapshot__change_pct",
}


class KPIListFilterSet(django_filters.FilterSet):
    """The KPI page's filters and sort, applied in PostgreSQL before it is paged."""

    q = django_filters.CharFilter(method="filter_q", label="KPI or use case")
    level = django_filters.ChoiceFilter(choices=Level.choices, empty_label="Any level")
    sort = django_filters.CharFilter(method="sort_by", widget=forms.HiddenInput)

    class Meta:
        model = KPI
        fields: list[str] = []

    def filter_q(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(Q(name__icontains=value) | Q(use_case__title__icontains=value))

    def sort_by(self, queryset: Any, name: str, value: str) -> Any:
        field = KPI_LIST_SORTS.get(value.lstrip("-"))
        if field is None:
            return queryset
        order = F(field).desc(nulls_last=True) if value.startswith("-") else F(field).asc()
        return queryset.order_by(order, "pk")
