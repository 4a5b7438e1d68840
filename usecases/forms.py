"""Forms: intake (in sections), scoring sheet, stage move, scoring model, team cost, import."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.forms.utils import flatatt, pretty_name
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from opsai import tabular
from opsai.forms import BoundedInputMixin
from usecases import lifecycle, scoring
from usecases.choices import CustomFieldKind, Stage, System
from usecases.custom_fields import TEXT_MAX, URL_MAX, custom_fields, custom_value_parse
from usecases.models import CustomField, ScoringModel, Team, UseCase
from usecases.risk import risk_class_choices, risk_scheme
from usecases.services import (
    CUSTOM_FIELD,
    INTAKE_FIELDS,
    OWNER_OR_CONTACT_MISSING,
    REQUIRED_FOR_SUBMIT,
    RISK_FIELDS,
)

YES_NO = [("", "—"), ("true", "Yes"), ("false", "No")]

RISK_CLASSIFICATION: tuple[str, ...] = ("risk_class", "high_impact", "high_impact_justification")

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
        tuple(name for name in RISK_FIELDS if name not in RISK_CLASSIFICATION),
    ),
    ("classification", "Risk classification", RISK_CLASSIFICATION),
]

# The fields of the form that are the model's (custom values are generated fields).
FORM_MODEL_FIELDS = [name for name in INTAKE_FIELDS if name != CUSTOM_FIELD]
# Generated fields for custom values are named with this prefix and the field's key.
CUSTOM_PREFIX = "cf_"


class UnitSelect(forms.Select):
    """A select of units written out in one pass: Django renders each option through a
    template of its own, which for the few hundred units of an organisation costs more
    than the rest of the page (about 0.3 ms an option). Its choices are read straight
    from the field's (value, label) pairs, without the per-option dicts Django builds."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> str:
        chosen = set(self.format_value(value))
        options = []
        for option_value, label in self.choices:
            text = str(option_value)
            selected = text in chosen
            chosen.discard(text)  # as Django: only the first option of a value is selected
            options.append((text, " selected" if selected else "", label))
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            format_html_join("", '<option value="{}"{}>{}</option>', options),
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
        label="Systems touched",
        choices=System.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Each system the AI worker reads from or writes to.",
    )
    money_movement = _nullable_boolean("Money movement", "Does it move money (refunds, payments)?")
    vendor_model = _nullable_boolean("Vendor model", "Does it call a third-party model vendor?")
    high_impact = _nullable_boolean(
        "High-impact", "Could its output significantly affect people's rights, safety or access?"
    )
    template_key = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = UseCase
        fields = FORM_MODEL_FIELDS
        widgets = {
            "problem": forms.Textarea(attrs={"rows": 3}),
            "current_workflow": forms.Textarea(attrs={"rows": 3}),
            "high_impact_justification": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "rework_share": "Share of cases reworked (0–1)",
            "expected_automation_share": "Expected automation share (0–1)",
            "cases_per_week": "Cases per week",
            "minutes_per_case": "Minutes per case",
            "rules_clarity": "Rules clarity (0–5)",
            "frequency": "How often the work happens",
            "value_claim": "Measurable claim for the value bucket",
            "high_impact_justification": "Why it is (or is not) high-impact",
        }
        help_texts = {
            "high_impact_justification": "Required when high-impact is yes.",
        }

    def __init__(
        self,
        *args: Any,
        require_complete: bool = False,
        custom_field_defs: list[CustomField] | None = None,
        **kwargs: Any,
    ) -> None:
        """``custom_field_defs``: the custom fields to offer (default: all, one query) —
        an importer checking thousands of rows passes them once."""
        super().__init__(*args, **kwargs)
        self.require_complete = require_complete
        for name, field in self.fields.items():
            # Django's "This field is required." names no field: in a summary it is a riddle.
            field.error_messages["required"] = f"{intake_label(name)} is required."
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        for name in FORM_MODEL_FIELDS:
            if name not in ("title", "team"):
                self.fields[name].required = False
        for name in REQUIRED_FOR_SUBMIT:
            if name in self.fields:
                self.fields[name].widget.attrs["data-required-to-submit"] = "1"
        self.fields["risk_class"].choices = [("", "—"), *risk_class_choices()]
        self.fields["risk_class"].label = f"Risk class ({risk_scheme().label})"
        instance = kwargs.get("instance")
        if isinstance(self.initial.get("high_impact"), bool):  # the instance's, for the select
            self.initial["high_impact"] = _custom_initial(self.initial["high_impact"])
        self.custom_field_defs = (
            custom_fields() if custom_field_defs is None else list(custom_field_defs)
        )
        stored = (instance.custom if instance is not None else None) or {}
        for field in self.custom_field_defs:
            name = CUSTOM_PREFIX + field.key
            self.fields[name] = custom_form_field(field)
            if field.key in stored and name not in self.initial:
                self.initial[name] = _custom_initial(stored[field.key])

    def sections(self) -> list[dict[str, Any]]:
        """The bound fields grouped by section, for the template."""
        sections = [
            {"key": key, "title": title, "fields": [self[name] for name in names]}
            for key, title, names in INTAKE_SECTIONS
        ]
        if self.custom_field_defs:
            sections.append(
                {
                    "key": "custom",
                    "title": "Your organisation's fields",
                    "fields": [self[CUSTOM_PREFIX + f.key] for f in self.custom_field_defs],
                }
            )
        return sections

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.require_complete:
            for name in REQUIRED_FOR_SUBMIT:
                if name in self.errors:
                    continue
                value = data.get(name)
                if value is None or value == "" or value == []:
                    self.add_error(name, f"{intake_label(name)} is required to submit.")
            if (
                not data.get("owner")
                and not data.get("contact_email")
                and "owner" not in self.errors
            ):
                self.add_error("owner", OWNER_OR_CONTACT_MISSING)
        self.custom_values: dict[str, Any] = {}
        for field in self.custom_field_defs:
            name = CUSTOM_PREFIX + field.key
            # A field the request did not send is left as stored (a browser sends every
            # field; an importer or script only the ones it has).
            if name in self.errors or name not in self.data:
                continue
            raw = data.get(name)
            value, problem = custom_value_parse(field, raw)
            if problem:
                self.add_error(name, f"{field.label}: {problem}.")
            else:
                self.custom_values[field.key] = "" if value is None else value
        return data

    def error_summary(self, *, skip: Collection[str] = ()) -> list[str]:
        """Every error of the form (but those of the fields in ``skip``), each naming its
        field by the label the person sees (a message that does not start with it gets
        "<Label>: " before it)."""
        summary = []
        for name in [*self.fields, NON_FIELD_ERRORS]:  # in the order the page shows them
            if name in skip:
                continue
            label = str(self[name].label) if name in self.fields else ""
            for message in self.errors.get(name, []):
                named = not label or message.lower().startswith(label.lower())
                summary.append(message if named else f"{label}: {message}")
        return summary

    def intake_data(self) -> dict[str, Any]:
        """The cleaned intake fields, as the services take them (custom values by key)."""
        data = {name: self.cleaned_data[name] for name in FORM_MODEL_FIELDS}
        if self.custom_values:
            data[CUSTOM_FIELD] = self.custom_values
        return data


def intake_label(name: str) -> str:
    """The label a person sees for intake field ``name`` ("Systems touched", never
    ``systems_touched``): the intake form's, else the model field's, else the name in words."""
    field = UseCaseForm.base_fields.get(name)
    if field is not None and field.label:
        return str(field.label)
    try:
        label = str(UseCase._meta.get_field(name.removesuffix("_id")).verbose_name)
    except FieldDoesNotExist:
        label = pretty_name(name)
    return label[:1].upper() + label[1:]


class _CheckedChoiceField(forms.ChoiceField):
    """A select whose value ``custom_value_parse`` checks (one message, any spelling)."""

    def valid_value(self, value: Any) -> bool:
        return True


def custom_form_field(field: CustomField) -> forms.Field:
    """The form field for a custom field; its value is checked by ``custom_value_parse``."""
    common: dict[str, Any] = {"label": field.label, "help_text": field.help_text, "required": False}
    kind = field.kind
    if kind == CustomFieldKind.YES_NO:
        return _CheckedChoiceField(choices=YES_NO, **common)
    if kind == CustomFieldKind.CHOICE:
        choices = [("", "—"), *[(c, c) for c in field.choices]]
        return _CheckedChoiceField(choices=choices, **common)
    if kind == CustomFieldKind.DATE:
        return forms.CharField(
            max_length=10, widget=forms.DateInput(attrs={"type": "date"}), **common
        )
    if kind == CustomFieldKind.NUMBER:
        return forms.CharField(
            max_length=40, widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common
        )
    if kind == CustomFieldKind.URL:
        return forms.CharField(
            max_length=URL_MAX, widget=forms.URLInput(attrs={"placeholder": "https://"}), **common
        )
    return forms.CharField(max_length=TEXT_MAX, **common)


def _custom_initial(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class CustomFieldForm(BoundedInputMixin, forms.ModelForm):
    """Add or edit a custom field; choices one per line; the key is fixed once created."""

    choices = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="For a choice field: one allowed value per line.",
    )

    class Meta:
        model = CustomField
        fields = ["key", "label", "kind", "choices", "help_text", "order"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["key"].disabled = True
            self.fields["key"].help_text = "Fixed: the stored values live under it."
            self.initial["choices"] = "\n".join(self.instance.choices or [])

    def clean_choices(self) -> list[str]:
        lines = (self.cleaned_data.get("choices") or "").splitlines()
        values = [line.strip() for line in lines if line.strip()]
        if len({v.lower() for v in values}) != len(values):
            raise forms.ValidationError("Each choice may appear once.")
        if any(len(v) > 200 for v in values):
            raise forms.ValidationError("A choice may have at most 200 characters.")
        return values

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") and data["kind"] != CustomFieldKind.CHOICE:
            # Only a choice field has choices: switching a field to another kind drops
            # its list rather than refusing the change over a box the kind ignores.
            data["choices"] = []
            self.instance.choices = []
        return data

    def attributes(self) -> dict[str, Any]:
        """What the services take: every attribute but the key."""
        return {
            name: self.cleaned_data[name]
            for name in ("label", "kind", "choices", "help_text", "order")
        }


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
    """Move a use case to one of the stages its lifecycle allows next: one button a move,
    each saying what the move brings ("Move to Review — opens the five-point review, …")."""

    to_stage = forms.ChoiceField(label="Move to")
    note = forms.CharField(max_length=300, required=False, label="Note (optional)")

    def __init__(self, *args: Any, use_case: UseCase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_case = use_case
        self.fields["to_stage"].choices = [
            (s.value, s.label) for s in lifecycle.allowed_moves(use_case.stage)
        ]

    @cached_property
    def moves(self) -> list[dict[str, Any]]:
        """The buttons: each allowed stage, its words, and whether it goes forward."""
        moves = []
        for stage in lifecycle.allowed_moves(self.use_case.stage):
            move = lifecycle.StageMove(self.use_case, Stage(self.use_case.stage), stage)
            order = lifecycle.ORDER
            back = (
                stage in order
                and move.from_stage in order
                and order[stage] < order[move.from_stage]
            )
            text = (
                "Reject"
                if stage == Stage.REJECTED
                else f"Move {'back ' if back else ''}to {stage.label}"
            )
            brings = lifecycle.entry_words_before(self.use_case, stage)
            if brings:
                text += " — " + "; ".join(brings)
            moves.append({"stage": stage.value, "text": text, "advancing": move.advancing})
        return moves


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


# --- Onboarding an existing inventory ------------------------------------------------------


class OnboardingUploadForm(ImportForm):
    """An inventory file and the source it comes from (its mapping is saved under that name)."""

    source = forms.CharField(
        label="Source",
        max_length=100,
        help_text="The tool or register the file comes from, e.g. “Federal AI inventory 2024”. "
        "The mapping you confirm is offered again for the next file from the same source.",
    )
    field_order = ["source", "file"]


class OnboardingMappingForm(forms.Form):
    """The mapping of one file: a target per column, a value per distinct value, the options.

    Fields are named by position (``column_3``, ``value_stage_2``), so a column named
    anything at all makes a valid field name; labels carry the file's own names.
    """

    clear_blank = forms.BooleanField(
        label="Blank cells clear fields",
        required=False,
        help_text="Off: a blank cell leaves the use case's field as it is.",
    )
    register_as_found = forms.BooleanField(
        label="Register at their real stage (as found)",
        required=False,
        help_text="Rows in pilot, production or retired are registered there, with their dates; "
        "the gates they skipped show as open obligations.",
    )
    create_units = forms.BooleanField(
        label="Create missing organisation units",
        required=False,
        help_text="Admins only: units the file names that do not exist yet are created.",
    )
    default_unit = forms.ModelChoiceField(
        label="Unit for rows without one",
        queryset=Team.objects.none(),
        required=False,
        empty_label="— none: such a row is refused —",
    )

    def __init__(
        self, *args: Any, job: Any, all_targets: list[Any], may_create_units: bool, **kwargs: Any
    ) -> None:
        mapping = job.mapping
        options = mapping.get("options", {})
        kwargs.setdefault("initial", {}).update(
            {
                name: options.get(name)
                for name in ("clear_blank", "register_as_found", "create_units", "default_unit")
            }
        )
        super().__init__(*args, **kwargs)
        self.fields["default_unit"].queryset = Team.objects.order_by("path_label")
        self.fields["default_unit"].label_from_instance = lambda unit: unit.path_label or unit.name
        if not may_create_units:
            del self.fields["create_units"]
        self.by_key = {t.key: t for t in all_targets}
        choices = [("", "— leave out —")] + [(t.key, f"{t.label} ({t.key})") for t in all_targets]
        self.columns: list[tuple[str, str]] = []
        for index, column in enumerate(mapping.get("header", [])):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                label=column,
                choices=choices,
                required=False,
                initial=mapping.get("columns", {}).get(column, ""),
            )
            self.columns.append((name, column))
        self.values: list[tuple[str, str, str, str]] = []  # field name, target key, file value
        for key, seen in mapping.get("values", {}).items():
            target = self.by_key.get(key)
            if target is None:
                continue
            value_choices = [("", "— not mapped —"), *list(target.choices)]
            for index, raw in enumerate(seen):
                name = f"value_{key.replace(':', '__')}_{index}"
                self.fields[name] = forms.ChoiceField(
                    label=f"{target.label}: {raw}",
                    choices=value_choices,
                    required=False,
                    initial=seen[raw],
                )
                self.values.append((name, key, raw, target.label))

    def column_rows(self, samples: dict[str, list[str]]) -> list[dict[str, Any]]:
        return [
            {"field": self[name], "column": column, "samples": samples.get(column, [])}
            for name, column in self.columns
        ]

    def value_tables(self) -> list[dict[str, Any]]:
        tables: dict[str, dict[str, Any]] = {}
        for name, key, raw, label in self.values:
            tables.setdefault(key, {"key": key, "label": label, "rows": []})["rows"].append(
                {"field": self[name], "raw": raw}
            )
        return list(tables.values())

    def mapping(self) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, Any]]:
        """(columns, values, options) as ``onboarding_mapping_set`` takes them."""
        data = self.cleaned_data
        columns = {column: data.get(name, "") for name, column in self.columns}
        values: dict[str, dict[str, str]] = {}
        for name, key, raw, _ in self.values:
            values.setdefault(key, {})[raw] = data.get(name, "")
        unit = data.get("default_unit")
        options = {
            "clear_blank": data.get("clear_blank", False),
            "register_as_found": data.get("register_as_found", False),
            "create_units": data.get("create_units", False),
            "default_unit": unit.pk if unit else None,
        }
        return columns, values, options
