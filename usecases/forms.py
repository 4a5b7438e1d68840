"""Forms: intake (in sections), scoring sheet, stage move, scoring model, team cost, import."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from opsai import tabular
from opsai.forms import BoundedInputMixin
from usecases import lifecycle, scoring
from usecases.choices import System
from usecases.models import ScoringModel, Team, UseCase
from usecases.services import (
    INTAKE_FIELDS,
    OWNER_OR_CONTACT_MISSING,
    REQUIRED_FOR_SUBMIT,
    RISK_FIELDS,
)

YES_NO = [("", "—"), ("true", "Yes"), ("false", "No")]

# The intake form's sections, in the order a person fills them in.
INTAKE_SECTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("basics", "The use case", ("title", "team", "owner", "contact_name", "contact_email")),
    ("workflow", "Today's workflow", ("problem", "current_workflow")),
    (
        "outcome",
        "Business outcome and value",
        ("business_outcome", "value_bucket", "value_claim", "kpis_touched"),
    ),
    (
        "volume",
        "Volume, rework and reach",
        (
            "cases_per_week",
            "minutes_per_case",
            "rework_share",
            "expected_automation_share",
            "frequency",
            "rules_clarity",
            "approvals_needed",
            "teams_touched",
            "systems_touched",
        ),
    ),
    (
        "risk",
        "Risk attributes",
        RISK_FIELDS,
    ),
]


class UnitSelect(forms.Select):
    """A select of units written out in one pass: Django renders each option through a
    template of its own, which for the few hundred units of an organisation costs more
    than the rest of the page (about 0.3 ms an option)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> str:
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], " selected" if option["selected"] else "", option["label"])
                for _, group, _ in widget["optgroups"]
                for option in group
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), options
        )


class UnitChoiceField(forms.ModelChoiceField):
    """An organisation unit, listed by its path ("Northwind › Finance & supply › Finance")."""

    widget = UnitSelect

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Team.objects.order_by("path_label", "pk"))
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Team) -> str:
        return obj.path_label or obj.name


def _nullable_boolean(label: str, help_text: str = "") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        coerce=lambda v: v == "true",
        empty_value=None,
        required=False,
        help_text=help_text,
    )


class UseCaseForm(BoundedInputMixin, forms.ModelForm):
    """Intake: every field optional for a draft; ``require_complete`` for submitting.

    On submit each missing field gets its own error naming it, and nothing is saved.
    """

    team = UnitChoiceField(label="Team")
    systems_touched = forms.MultipleChoiceField(
        choices=System.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Each system the AI worker reads from or writes to.",
    )
    money_movement = _nullable_boolean("Money movement", "Does it move money (refunds, payments)?")
    vendor_model = _nullable_boolean("Vendor model", "Does it call a third-party model vendor?")
    template_key = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = UseCase
        fields = list(INTAKE_FIELDS)
        widgets = {
            "problem": forms.Textarea(attrs={"rows": 3}),
            "current_workflow": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "rework_share": "Share of cases reworked (0–1)",
            "expected_automation_share": "Expected automation share (0–1)",
            "cases_per_week": "Cases per week",
            "minutes_per_case": "Minutes per case",
            "rules_clarity": "Rules clarity (0–5)",
            "frequency": "How often the work happens",
            "value_claim": "Measurable claim for the value bucket",
        }

    def __init__(self, *args: Any, require_complete: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_complete = require_complete
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        for name in INTAKE_FIELDS:
            if name not in ("title", "team"):
                self.fields[name].required = False
        for name in REQUIRED_FOR_SUBMIT:
            self.fields[name].widget.attrs["data-required-to-submit"] = "1"

    def sections(self) -> list[dict[str, Any]]:
        """The bound fields grouped by section, for the template."""
        return [
            {"key": key, "title": title, "fields": [self[name] for name in names]}
            for key, title, names in INTAKE_SECTIONS
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.require_complete:
            for name in REQUIRED_FOR_SUBMIT:
                if name in self.errors:
                    continue
                value = data.get(name)
                if value is None or value == "" or value == []:
                    label = self.fields[name].label or name
                    self.add_error(name, f"{label} is required to submit.")
            if (
                not data.get("owner")
                and not data.get("contact_email")
                and "owner" not in self.errors
            ):
                self.add_error("owner", OWNER_OR_CONTACT_MISSING)
        return data

    def intake_data(self) -> dict[str, Any]:
        """The cleaned intake fields, as the services take them."""
        return {name: self.cleaned_data[name] for name in INTAKE_FIELDS}


class ScoreForm(BoundedInputMixin, forms.Form):
    """One scorer's sheet: each criterion 1–5 with a rationale."""

    def __init__(self, *args: Any, suggested: dict[str, int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(n), str(n)) for n in range(1, 6)]
        for key, (label, question) in scoring.CRITERIA.items():
            self.fields[key] = forms.TypedChoiceField(
                label=label, choices=choices, coerce=int, help_text=question
            )
            self.fields[f"{key}_rationale"] = forms.CharField(
                label=f"Why {label.lower()}?", widget=forms.Textarea(attrs={"rows": 2})
            )
        for key, value in (suggested or {}).items():
            self.fields[key].initial = str(value)

    def criteria(self) -> list[dict[str, Any]]:
        return [
            {"score": self[key], "rationale": self[f"{key}_rationale"]} for key in scoring.CRITERIA
        ]

    def values(self) -> dict[str, int]:
        return {key: self.cleaned_data[key] for key in scoring.CRITERION_KEYS}

    def rationales(self) -> dict[str, str]:
        return {key: self.cleaned_data[f"{key}_rationale"] for key in scoring.CRITERION_KEYS}


class StageMoveForm(forms.Form):
    """Move a use case to one of the stages its lifecycle allows next."""

    to_stage = forms.ChoiceField(label="Move to")
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, use_case: UseCase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].choices = [
            (s.value, s.label) for s in lifecycle.allowed_moves(use_case.stage)
        ]


class ScoringModelForm(forms.ModelForm):
    """A new scoring-model version (prefilled from the current one)."""

    class Meta:
        model = ScoringModel
        fields = [
            "note",
            "weight_value",
            "weight_feasibility",
            "weight_data_readiness",
            "weight_integration_complexity",
            "weight_change_pain",
            "radar_min_rules_clarity",
            "radar_min_frequency",
            "radar_min_cases_per_week",
            "radar_min_rework_share",
            "quick_win_min_value",
            "quick_win_min_feasibility",
            "political_thriller_min_approvals",
            "calibration_spread",
        ]


class TeamCostForm(forms.ModelForm):
    """A team's fully loaded hourly cost."""

    class Meta:
        model = Team
        fields = ["hourly_cost"]


class UnitForm(BoundedInputMixin, forms.Form):
    """A new organisation unit: its name, the unit it sits in, product owner and hourly cost."""

    name = forms.CharField(max_length=120)
    parent = UnitChoiceField(required=False, empty_label="— top level —", label="Inside")
    product_owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
    )
    hourly_cost = forms.DecimalField(
        max_digits=8,
        decimal_places=2,
        min_value=0,
        initial=Team._meta.get_field("hourly_cost").default,
    )


class UnitMoveForm(BoundedInputMixin, forms.Form):
    """Rename a unit and/or move it under another one (the units below it follow)."""

    unit = UnitChoiceField()
    name = forms.CharField(max_length=120, required=False, help_text="Blank keeps the name.")
    parent = UnitChoiceField(required=False, empty_label="— top level —", label="Move inside")
    keep_parent = forms.BooleanField(required=False, initial=True, label="Keep where it is")

    def changes(self) -> dict[str, Any]:
        """The changes for ``usecases.services.unit_update``."""
        data = self.cleaned_data
        changes: dict[str, Any] = {}
        if data["name"].strip():
            changes["name"] = data["name"]
        if not data["keep_parent"]:
            changes["parent"] = data["parent"]
        return changes


class ImportForm(forms.Form):
    """A CSV or Excel (.xlsx) file of use cases to create or update."""

    file = forms.FileField(help_text="CSV (UTF-8) or Excel .xlsx; the first row names the columns.")
    file.widget.attrs["accept"] = ".csv,.xlsx"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError("Upload a .csv or .xlsx file.")
        problem = upload_size_problem(upload.size)
        if problem:  # refused before a byte of it is read into memory
            raise forms.ValidationError(problem)
        return upload


def upload_size_problem(size: int) -> str:
    """Why a file of ``size`` bytes is too large to import, or ``""``."""
    limit = settings.UPLOAD_MAX_BYTES
    if size > limit:
        return f"The file is {tabular.size_text(size)}; the limit is {tabular.size_text(limit)}."
    return ""
