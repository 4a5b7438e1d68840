"""Forms for governance pages; services do the validation that spans rows."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from governance.choices import Lane, SignOffDecision
from governance.evidence import (
    evidence_file_problem,
    evidence_limits_text,
    evidence_link_problem,
)
from governance.models import AIWorker, ChecklistItem, Incident, Vendor
from governance.policy import format_conditions, parse_conditions
from opsai.forms import BoundedInputMixin


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several evidence files in one input."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


class ChecklistItemForm(BoundedInputMixin, forms.Form):
    """One checklist item's answer and evidence; prefixed ``item<pk>`` wherever it is posted."""

    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=True)
    evidence_text = forms.CharField(
        label="Evidence", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    evidence_links = forms.CharField(
        label="Evidence links (one per line)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    files = MultipleFileField(label="Evidence files", required=False)

    def __init__(self, *args: Any, require_answer: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["answer"].required = require_answer
        self.fields["files"].help_text = evidence_limits_text()
        self.fields["files"].widget.attrs["accept"] = (
            ".pdf,.png,.jpg,.jpeg,.txt,.csv,.xlsx,.docx,.md"
        )

    def clean_files(self) -> list[Any]:
        files = self.cleaned_data["files"]
        problems = [problem for upload in files if (problem := evidence_file_problem(upload))]
        if problems:
            raise forms.ValidationError(problems)
        return files

    def clean_evidence_links(self) -> list[str]:
        links = [
            line.strip()
            for line in self.cleaned_data["evidence_links"].splitlines()
            if line.strip()
        ]
        problems = [problem for link in links if (problem := evidence_link_problem(link))]
        if problems:
            raise forms.ValidationError(problems)
        return links


class ReviewChecklistForm:
    """The whole five-point checklist as one form: a ``ChecklistItemForm`` per item.

    Each item keeps the ``item<pk>`` prefix of the per-item form, so one POST carries
    every answer, and a refusal lands on the item it is about. An empty answer is
    allowed here: people save as they go, and the item shows as not answered.
    """

    def __init__(
        self,
        items: list[ChecklistItem],
        data: Any = None,
        files: Any = None,
    ) -> None:
        self.forms = {
            item.key: ChecklistItemForm(
                data,
                files,
                prefix=f"item{item.pk}",
                require_answer=False,
                initial={
                    "answer": item.answer,
                    "evidence_text": item.evidence_text,
                    "evidence_links": "\n".join(item.evidence_links),
                },
            )
            for item in items
        }

    def is_valid(self) -> bool:
        # Not all(generator): that stops at the first invalid item, leaving the rest unchecked.
        results = [form.is_valid() for form in self.forms.values()]
        return all(results)

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        """The cleaned answers and evidence by checklist key, for ``review_checklist_save``."""
        return {key: form.cleaned_data for key, form in self.forms.items()}

    def add_errors(self, error: ValidationError) -> None:
        """Put a service's refusal on the items it names (keyed by checklist key), else on the first."""
        by_key = error.message_dict if hasattr(error, "error_dict") else {}
        first = next(iter(self.forms.values()), None)
        for key, messages in by_key.items():
            target = self.forms.get(key, first)
            if target is not None:
                target.add_error(None, messages)
        if not by_key and first is not None:
            first.add_error(None, error.messages)


class SignOffForm(BoundedInputMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[c for c in SignOffDecision.choices if c[0] != SignOffDecision.PENDING],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class ConfirmForm(forms.Form):
    """A destructive or security action's confirmation: a box ticked, checked on the server,
    so a form posted without it (no JavaScript, a stray click) changes nothing."""

    confirm = forms.BooleanField(
        label="I understand",
        required=True,
        error_messages={"required": "Tick “I understand” to confirm."},
    )


class KillSwitchForm(ConfirmForm):
    """The kill switch: why the worker is paused, and that its runtime stops at once."""

    reason = forms.CharField(
        max_length=500,
        label="Reason for pausing",
        widget=forms.TextInput(attrs={"placeholder": "Why?"}),
    )

    field_order = ["reason", "confirm"]


class RollbackForm(ConfirmForm):
    note = forms.CharField(max_length=300, required=False, label="Why (optional)")

    field_order = ["note", "confirm"]


class NoteForm(forms.Form):
    note = forms.CharField(max_length=300, required=False)


class AIWorkerForm(BoundedInputMixin, forms.ModelForm):
    escalation_contacts = forms.CharField(
        label="Escalation contacts (emails, one per line)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )

    class Meta:
        model = AIWorker
        fields = [
            "name",
            "tasks_handled",
            "human_role",
            "vendor",
            "model_name",
            "model_version",
            "autonomy",
            "human_approval_threshold",
            "auto_pause_on_guardrail",
            "escalation_contacts",
        ]
        labels = {"human_role": "Where humans decide"}
        widgets = {
            "tasks_handled": forms.Textarea(attrs={"rows": 2}),
            "human_role": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["escalation_contacts"] = "\n".join(self.instance.escalation_contacts)

    def clean_escalation_contacts(self) -> list[str]:
        return _lines(self.cleaned_data["escalation_contacts"])


class ReleaseForm(BoundedInputMixin, forms.Form):
    version = forms.CharField(max_length=60)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class IncidentForm(BoundedInputMixin, forms.ModelForm):
    class Meta:
        model = Incident
        fields = ["worker", "title", "severity", "what_happened", "affected", "affected_count"]
        widgets = {
            "what_happened": forms.Textarea(attrs={"rows": 3}),
            "affected": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, use_case: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["worker"].queryset = AIWorker.objects.filter(use_case=use_case)


class IncidentStepForm(BoundedInputMixin, forms.Form):
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    done = forms.BooleanField(required=False, label="Done")
    rule_change = forms.CharField(
        max_length=300,
        required=False,
        label='Rule changed (or "none")',
        help_text='e.g. "human approval above 500"',
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, groups__isnull=False)
            .distinct()
            .order_by("username")
        )


class VendorForm(BoundedInputMixin, forms.ModelForm):
    class Meta:
        model = Vendor
        fields = [
            "name",
            "security_posture",
            "retention_policy",
            "sla",
            "last_reviewed_on",
            "next_review_due",
        ]
        widgets = {
            "security_posture": forms.Textarea(attrs={"rows": 2}),
            "retention_policy": forms.Textarea(attrs={"rows": 2}),
            "last_reviewed_on": forms.DateInput(attrs={"type": "date"}),
            "next_review_due": forms.DateInput(attrs={"type": "date"}),
        }


class LaneRuleForm(BoundedInputMixin, forms.Form):
    name = forms.CharField(max_length=120)
    lane = forms.ChoiceField(choices=Lane.choices)
    conditions = forms.CharField(
        required=False,
        help_text="attribute=value,value; … (empty matches everything)",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    reason = forms.CharField(max_length=300)

    def clean_conditions(self) -> dict[str, list[Any]]:
        return parse_conditions(self.cleaned_data["conditions"])

    @staticmethod
    def initial_for(rule: Any) -> dict[str, Any]:
        return {
            "name": rule.name,
            "lane": rule.lane,
            "conditions": format_conditions(rule.conditions),
            "reason": rule.reason,
        }


LaneRuleFormSet = forms.formset_factory(LaneRuleForm, extra=1, can_delete=True)


class PolicyNoteForm(BoundedInputMixin, forms.Form):
    note = forms.CharField(max_length=300, label="What changed and why")
