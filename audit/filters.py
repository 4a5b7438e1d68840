"""The one way to filter the audit trail: the audit page and the API share this filter set."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from audit.models import AuditEvent


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditEventFilterForm(forms.Form):
    """Refuses a date range that ends before it starts, naming the end date."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError({"date_to": "The end date is before the start date."})
        return data


class AuditEventFilterSet(django_filters.FilterSet):
    """Filter audit events by object, actor, action and time (whole days or exact instants)."""

    object_type = django_filters.CharFilter(label="Object type", help_text="e.g. usecases.usecase")
    object_id = django_filters.CharFilter(label="Object id")
    actor = django_filters.CharFilter(field_name="actor_name", label="Actor (username)")
    actor_name = django_filters.CharFilter(label="Actor (username)")
    action = django_filters.CharFilter()
    date_from = django_filters.DateFilter(
        method="filter_date_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

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
