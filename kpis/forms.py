"""Forms for KPIs: definitions, one measurement, an upload, a check-in, an annotation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from kpis.choices import AnnotationKind, Confidence
from kpis.models import KPI
from kpis.services import BACKGROUND_INGEST_ROWS
from opsai import tabular
from opsai.forms import BoundedInputMixin


class KPIForm(BoundedInputMixin, forms.ModelForm):
    """A KPI's definition; the parent must be in the same use case."""

    class Meta:
        model = KPI
        fields = [
            "name", "level", "parent", "unit", "direction", "baseline_value", "baseline_start",
            "baseline_end", "target_type", "target_value", "target_date", "owner", "cadence",
            "source", "guardrail_threshold", "value_per_unit", "alert_after_snapshots",
        ]  # fmt: skip
        widgets = {
            "baseline_start": forms.DateInput(attrs={"type": "date"}),
            "baseline_end": forms.DateInput(attrs={"type": "date"}),
            "target_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, use_case: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parents = KPI.objects.filter(use_case=use_case)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        self.instance.use_case = use_case


class MeasurementForm(BoundedInputMixin, forms.Form):
    """Enter one value for one KPI."""

    kpi = forms.ModelChoiceField(
        queryset=KPI.objects.select_related("use_case").order_by("use_case__title", "pk")
    )
    timestamp = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    value = forms.FloatField()


class UploadForm(forms.Form):
    """A CSV or Excel file with columns kpi, timestamp, value (kpi optional when one KPI is chosen)."""

    file = forms.FileField(help_text="CSV or .xlsx with columns kpi, timestamp, value.")
    kpi = forms.ModelChoiceField(
        queryset=KPI.objects.select_related("use_case").order_by("use_case__title", "pk"),
        required=False,
        help_text="Only for a file about one KPI without a kpi column.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"CSV or .xlsx with columns kpi, timestamp, value. {tabular.upload_limits().describe()} "
            f"A file of more than {BACKGROUND_INGEST_ROWS:,} rows is saved in the background."
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.UPLOAD_MAX_BYTES
        if upload.size > limit:  # refused before a byte of it is read into memory
            raise forms.ValidationError(
                f"The file is {tabular.size_text(upload.size)}; the limit is {tabular.size_text(limit)}."
            )
        return upload


class CheckInForm(forms.Form):
    """The owner's weekly judgement."""

    confidence = forms.ChoiceField(choices=Confidence.choices)
    analysis = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class AnnotationForm(BoundedInputMixin, forms.Form):
    """A marker on the charts of one KPI, one use case or the whole portfolio."""

    kind = forms.ChoiceField(choices=AnnotationKind.choices)
    text = forms.CharField(max_length=300)
    starts_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
