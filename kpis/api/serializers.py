"""Serializers for the KPI API."""

from __future__ import annotations

from rest_framework import serializers

from kpis.models import KPI, Alert, Annotation, CheckIn, IngestBatch, Measurement, Snapshot
from kpis.selectors import VANITY
from opsai.api import BoundedModelSerializer


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = Snapshot
        fields = [
            "id", "kpi", "as_of", "computed_at", "latest_value", "latest_at", "baseline",
            "change_abs", "change_pct", "progress", "trend_per_day", "move_30", "move_60",
            "move_90", "realised_value", "guardrail_breached", "status", "rolled_up_status",
        ]  # fmt: skip


class KPISerializer(BoundedModelSerializer):
    current_snapshot = SnapshotSerializer(read_only=True)
    vanity = serializers.SerializerMethodField(
        help_text="A model metric with no business KPI above it (never shown alone to executives)."
    )

    def get_vanity(self, kpi: KPI) -> bool:
        if hasattr(kpi, "vanity"):  # annotated by the list query
            return bool(kpi.vanity)
        return KPI.objects.filter(pk=kpi.pk).filter(VANITY).exists()

    class Meta:
        model = KPI
        fields = [
            "id", "use_case", "parent", "name", "level", "unit", "direction", "baseline_value",
            "baseline_start", "baseline_end", "target_value", "target_type", "target_date",
            "owner", "cadence", "source", "guardrail_threshold", "value_per_unit",
            "alert_after_snapshots", "current_snapshot", "vanity",
        ]  # fmt: skip
        # Validation lives in the model (full_clean in the services), not here.
        validators: list = []


class MeasurementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Measurement
        fields = ["id", "kpi", "timestamp", "value", "source", "batch"]


class IngestBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = IngestBatch
        fields = [
            "id", "source", "status", "created_at", "finished_at", "rows_total",
            "rows_accepted", "rows_rejected", "errors",
        ]  # fmt: skip


class CheckInSerializer(BoundedModelSerializer):
    author = serializers.StringRelatedField()

    class Meta:
        model = CheckIn
        fields = ["id", "kpi", "week", "confidence", "analysis", "author", "created_at"]
        read_only_fields = ["author", "created_at"]
        validators: list = []
        extra_kwargs = {"week": {"required": False}}


class AnnotationSerializer(BoundedModelSerializer):
    created_by = serializers.StringRelatedField()

    class Meta:
        model = Annotation
        fields = [
            "id",
            "kind",
            "text",
            "starts_at",
            "ends_at",
            "use_case",
            "kpi",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["created_by", "created_at"]


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id", "kpi", "reason", "state", "consecutive", "last_as_of", "started_at",
            "fired_at", "resolved_at",
        ]  # fmt: skip
