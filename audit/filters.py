"""The one way to filter the audit trail: the audit page and the API share this filter set."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.models import AuditEvent
from opsai import bounds


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditEventFilterForm(forms.Form):
    """Refuses a date range that ends before it starts, naming the end date."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError({"date_to": "The end date is before the start date."})
        return data


class InstantField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time converted to UTC within ``opsai.bounds``' window.

    PostgreSQL refuses offsets past ±15:59 (``+21:36``) and Python cannot convert year 1
    with a positive offset; both are a 400 naming the parameter, not a 500.
    """

    def to_python(self, value: Any) -> datetime | None:
        # The parent converts to the server's time zone, losing the offset sent: check it first.
        try:
            sent = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            sent = None
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            if sent is not None:
                bounds.instant_utc(sent)
            return bounds.instant_utc(parsed)
        except ValueError as error:
            raise ValidationError(f"This date-time {error}.", code="range") from None


class DayField(forms.DateField):
    """A calendar day within ``opsai.bounds``' window (9999-12-31 has no day after it)."""

    def validate(self, value: date | None) -> None:
        super().validate(value)
        problem = bounds.day_problem(value) if value else ""
        if problem:
            raise ValidationError(problem, code="range")


class DayFilter(django_filters.DateFilter):
    """``DateFilter`` reading its value with :class:`DayField`."""

    field_class = DayField


class InstantFilter(django_filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` reading its value with :class:`InstantField`."""

    field_class = InstantField


class AuditEventFilterSet(django_filters.FilterSet):
    """Filter audit events by object, actor, action and time (whole days or exact instants)."""

    object_type = django_filters.CharFilter(label="Object type", help_text="e.g. usecases.usecase")
    object_id = django_filters.CharFilter(label="Object id")
    actor = django_filters.CharFilter(field_name="actor_name", label="Actor (username)")
    actor_name = django_filters.CharFilter(label="Actor (username)")
    action = django_filters.CharFilter()
    date_from = DayFilter(
        method="filter_date_from", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = DayFilter(
        method="filter_date_to",
        label="To (inclusive)",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    occurred_after = InstantFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = InstantFilter(field_name="occurred_at", lookup_expr="lt")

    # The page shows the filters people use; the API accepts all of them.
    PAGE_FIELDS = ("object_type", "object_id", "actor", "date_from", "date_to")

    def __init__(self, *args: Any, page: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if page:
            for name in set(self.filters) - set(self.PAGE_FIELDS):
                del self.filters[name]

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = AuditEventFilterForm

    def filter_date_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(occurred_at__gte=_start_of(value))

    def filter_date_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(occurred_at__lt=_start_of(value) + timedelta(days=1))
