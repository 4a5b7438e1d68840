"""Serializers of the use-case API: the ranked row (read), intake (write), score, stage move."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opsai import formatting
from opsai.api import BoundedModelSerializer
from usecases import scoring
from usecases.catalog import USE_CASE_TEMPLATES
from usecases.choices import Stage, System
from usecases.custom_fields import custom_values_clean
from usecases.models import ImportJob, Score, Team, UseCase
from usecases.risk import risk_class_choices, risk_validate
from usecases.services import INTAKE_FIELDS


class UseCaseSerializer(serializers.ModelSerializer):
    """A row of the ranked portfolio (``usecases.selectors.usecase_portfolio``)."""

    team = serializers.StringRelatedField()
    unit_path = serializers.CharField(
        source="team.path_label", read_only=True, help_text="The unit's path from the root."
    )
    owner = serializers.StringRelatedField()
    is_draft = serializers.BooleanField(read_only=True)
    score = serializers.SerializerMethodField(
        help_text="Consensus 1–5 under the current model; null while scoring is blind for you."
    )
    score_blind = serializers.SerializerMethodField(
        help_text="True while you may score it but have not, and the owner has not revealed."
    )
    scorers = serializers.IntegerField(read_only=True)
    spread = serializers.IntegerField(read_only=True)
    flags = serializers.SerializerMethodField()
    value_estimate = serializers.SerializerMethodField(
        help_text="Annual hours and cost saved — an estimate, not realised value."
    )

    class Meta:
        model = UseCase
        fields = [
            "id",
            "title",
            "team",
            "unit_path",
            "owner",
            "contact_name",
            "contact_email",
            "business_outcome",
            "value_bucket",
            "value_claim",
            "stage",
            "stage_entered_at",
            "is_draft",
            "submitted_at",
            "template_key",
            "systems_touched",
            "cases_per_week",
            "minutes_per_case",
            "rework_share",
            "approvals_needed",
            "teams_touched",
            "kpis_touched",
            "rules_clarity",
            "frequency",
            "expected_automation_share",
            "data_sensitivity",
            "audience",
            "autonomy",
            "money_movement",
            "vendor_model",
            "risk_class",
            "high_impact",
            "high_impact_justification",
            "custom",
            "score",
            "score_blind",
            "scorers",
            "spread",
            "flags",
            "value_estimate",
        ]

    def _blind(self, row: UseCase) -> bool:
        # Annotated by usecase_portfolio(viewer=...) for the requesting user.
        return bool(getattr(row, "score_hidden", False))

    def get_score_blind(self, row: UseCase) -> bool:
        return self._blind(row)

    def get_score(self, row: UseCase) -> float | None:
        if row.consensus is None or self._blind(row):
            return None
        return float(formatting.score_decimal(row.consensus))

    def get_flags(self, row: UseCase) -> dict[str, bool | None]:
        blind = self._blind(row)
        return {
            "radar_hit": row.radar_hit,
            "quick_win": None if blind else row.quick_win,
            "political_thriller": row.political_thriller,
            "needs_calibration": None if blind else row.needs_calibration,
        }

    def get_value_estimate(self, row: UseCase) -> dict[str, Any]:
        return {
            "label": "estimate",
            "hours_per_year": formatting.whole(row.est_hours),
            "cost_per_year": formatting.whole(row.est_cost),
        }


@extend_schema_field(OpenApiTypes.STR)
class UnitField(serializers.RelatedField):
    """A unit named by its path label, or by its name when that is unique; read as its name."""

    default_error_messages = {
        "unknown": "No organisation unit {value!r}.",
        "ambiguous": "Several units are named {value!r}: give its path (“A › B › {value}”).",
        "invalid": "Name the unit as text.",
    }

    def to_internal_value(self, data: Any) -> Team:
        if not isinstance(data, str):
            self.fail("invalid")
        value = data.strip()
        queryset = self.get_queryset()
        by_path = queryset.filter(path_label=value).first()
        if by_path is not None:
            return by_path
        named = list(queryset.filter(name=value)[:2])
        if not named:
            self.fail("unknown", value=value)
        if len(named) > 1:
            self.fail("ambiguous", value=value)
        return named[0]

    def to_representation(self, value: Team) -> str:
        return value.name


class UseCaseWriteSerializer(BoundedModelSerializer):
    """Intake through the API: team by name, owner by username; ``submit`` validates all."""

    team = UnitField(
        queryset=Team.objects.all(),
        help_text="The unit: its path (“Northwind › Finance & supply › Finance”), or its name "
        "when no other unit has that name.",
    )
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    systems_touched = serializers.ListField(
        child=serializers.ChoiceField(choices=System.choices), required=False
    )
    risk_class = serializers.ChoiceField(
        choices=risk_class_choices(), required=False, allow_blank=True
    )
    custom = serializers.DictField(
        required=False,
        help_text="Custom field key → value (a number, true/false, YYYY-MM-DD or text); "
        'a key left out keeps its value, null or "" clears it.',
    )
    template_key = serializers.ChoiceField(
        choices=sorted(USE_CASE_TEMPLATES), required=False, allow_blank=True, write_only=True
    )
    submit = serializers.BooleanField(required=False, default=False, write_only=True)

    class Meta:
        model = UseCase
        fields = [*INTAKE_FIELDS, "template_key", "submit"]

    def validate_custom(self, value: dict[str, Any]) -> dict[str, Any]:
        # Checked here so a bad key or value is a 400 naming it under "custom"; the
        # service merges the raw values into what is stored (and checks them again).
        try:
            custom_values_clean(value, base={})
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        high_impact = attrs.get("high_impact", getattr(instance, "high_impact", None))
        justification = attrs.get(
            "high_impact_justification", getattr(instance, "high_impact_justification", "")
        )
        problems = risk_validate(high_impact=high_impact, justification=justification)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class ScoreSerializer(BoundedModelSerializer):
    """One scorer's sheet: five 1–5 values, each with a rationale."""

    scorer = serializers.StringRelatedField()
    scoring_model_version = serializers.IntegerField(source="scoring_model.version", read_only=True)

    class Meta:
        model = Score
        fields = [
            "id",
            "scorer",
            "scoring_model_version",
            *scoring.CRITERION_KEYS,
            *[f"{key}_rationale" for key in scoring.CRITERION_KEYS],
            "weighted_score",
            "submitted_at",
            "superseded_at",
        ]
        read_only_fields = ["weighted_score", "submitted_at", "superseded_at"]


class StageMoveSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ImportJobSerializer(serializers.ModelSerializer):
    """A background use-case import: its state, progress and outcome (``errors``: the first bad rows)."""

    created_by = serializers.StringRelatedField()
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id", "filename", "state", "created_by", "created_at", "started_at", "finished_at",
            "rows_total", "rows_checked", "rows_saved", "progress_percent",
            "created", "updated", "error_count", "errors",
        ]  # fmt: skip
        read_only_fields = fields


class OnboardingJobSerializer(serializers.ModelSerializer):
    """An onboarding import: its mapping, phase, preview, progress and outcome.

    ``errors``: the first 200 problems of refused rows (line, field, problem); the page's
    error report has every one.
    """

    created_by = serializers.StringRelatedField()
    progress_percent = serializers.IntegerField(read_only=True)
    phase = serializers.SerializerMethodField()
    mapping = serializers.SerializerMethodField()
    preview = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id", "source", "filename", "state", "phase", "created_by", "created_at",
            "started_at", "finished_at", "rows_total", "rows_checked", "rows_saved",
            "progress_percent", "mapping", "preview", "result", "created", "updated",
            "error_count", "errors",
        ]  # fmt: skip
        read_only_fields = fields

    def get_phase(self, job: ImportJob) -> str:
        return job.mapping.get("phase", "")

    def get_mapping(self, job: ImportJob) -> dict[str, Any]:
        keys = ("header", "columns", "values", "options", "samples", "saved")
        return {key: job.mapping.get(key) for key in keys}

    def get_preview(self, job: ImportJob) -> dict[str, Any] | None:
        return job.mapping.get("preview")

    def get_result(self, job: ImportJob) -> dict[str, Any] | None:
        return job.mapping.get("result")

    def get_errors(self, job: ImportJob) -> list[Any]:
        return list(job.errors[:200])


class OnboardingMappingSerializer(serializers.Serializer):
    """A mapping: ``columns`` (file column → field key, "" to leave out), ``values``, ``options``."""

    columns = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=60))
    values = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=100)),
        required=False,
    )
    options = serializers.DictField(required=False)
