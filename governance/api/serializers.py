"""API shapes for governance: lanes, reviews and sign-offs, AI workers, releases, incidents, audit."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.models import AuditEvent
from governance.choices import PlaybookStep, SignOffDecision, SignOffRole
from governance.models import (
    AIWorker,
    ChecklistItem,
    Incident,
    IncidentStep,
    LaneAssignment,
    Release,
    Review,
    SignOff,
)
from governance.selectors import worker_current_release
from opsai.api import BoundedModelSerializer, long_text_field


class LaneSerializer(serializers.ModelSerializer):
    use_case_title = serializers.CharField(source="use_case.title", read_only=True)
    policy_version = serializers.IntegerField(source="policy.version", read_only=True)
    rule = serializers.CharField(source="rule.name", default="", read_only=True)

    class Meta:
        model = LaneAssignment
        fields = [
            "use_case",
            "use_case_title",
            "lane",
            "policy_version",
            "rule",
            "reason",
            "assigned_at",
        ]


class ChecklistItemSerializer(serializers.ModelSerializer):
    files = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistItem
        fields = ["key", "answer", "evidence_text", "evidence_links", "files", "updated_at"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_files(self, item: ChecklistItem) -> list[str]:
        return [
            reverse("governance:evidence_file", args=[item.review_id, f.pk])
            for f in item.files.all()
        ]


class SignOffSerializer(serializers.ModelSerializer):
    assignee = serializers.StringRelatedField()
    decided_by = serializers.StringRelatedField()

    class Meta:
        model = SignOff
        fields = [
            "id",
            "role",
            "assignee",
            "assigned_at",
            "decision",
            "comment",
            "decided_by",
            "decided_at",
        ]


class ReviewSerializer(serializers.ModelSerializer):
    checklist = ChecklistItemSerializer(many=True, read_only=True)
    sign_offs = SignOffSerializer(many=True, read_only=True)

    class Meta:
        model = Review
        fields = [
            "id", "use_case", "status", "opened_reason", "opened_at", "decided_at",
            "checklist", "sign_offs", "decision_snapshot",
        ]  # fmt: skip


class SignOffInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=SignOffRole.choices)
    decision = serializers.ChoiceField(
        choices=[c for c in SignOffDecision.choices if c[0] != SignOffDecision.PENDING]
    )
    comment = long_text_field()


class ChecklistInputSerializer(serializers.Serializer):
    key = serializers.ChoiceField(
        choices=[k for k, _ in ChecklistItem._meta.get_field("key").choices]
    )
    answer = long_text_field()
    evidence_text = long_text_field(required=False, allow_blank=True, default="")
    evidence_links = serializers.ListField(
        child=serializers.CharField(max_length=2000), required=False, default=list, max_length=100
    )


class AIWorkerSerializer(BoundedModelSerializer):
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = AIWorker
        fields = [
            "id", "use_case", "name", "tasks_handled", "human_role", "vendor", "model_name",
            "model_version", "autonomy", "human_approval_threshold", "status",
            "auto_pause_on_guardrail", "escalation_contacts", "paused_at", "pause_reason",
            "current_version",
        ]  # fmt: skip
        read_only_fields = ["status", "paused_at", "pause_reason"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_current_version(self, worker: AIWorker) -> str | None:
        release = worker_current_release(worker)
        return release.version if release else None


class ReleaseSerializer(BoundedModelSerializer):
    deployed_by = serializers.StringRelatedField()

    class Meta:
        model = Release
        fields = ["id", "worker", "version", "notes", "deployed_at", "deployed_by", "rollback_of"]
        read_only_fields = ["deployed_by", "rollback_of"]


class IncidentStepSerializer(serializers.ModelSerializer):
    owner = serializers.StringRelatedField()
    done_by = serializers.StringRelatedField()

    class Meta:
        model = IncidentStep
        fields = ["kind", "position", "owner", "notes", "done_at", "done_by"]


class IncidentSerializer(BoundedModelSerializer):
    steps = IncidentStepSerializer(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id", "use_case", "worker", "title", "severity", "what_happened", "affected",
            "affected_count", "status", "rule_change", "opened_at", "closed_at", "steps",
        ]  # fmt: skip
        read_only_fields = ["status", "rule_change", "opened_at", "closed_at"]


class IncidentStepInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PlaybookStep.choices)
    # The same people the incident page offers: active users with a role.
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True, groups__isnull=False).distinct(),
        required=False,
        allow_null=True,
        default=None,
    )
    notes = long_text_field(required=False, allow_blank=True, default=None)
    done = serializers.BooleanField(required=False, default=False)
    rule_change = long_text_field(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RollbackSerializer(serializers.Serializer):
    """Why a release is rolled back: ``note`` (or ``notes``, the release's own field name)."""

    note = long_text_field(required=False, allow_blank=True, default="")
    notes = long_text_field(required=False, allow_blank=True, default="")


class WorkerStatusSerializer(serializers.Serializer):
    """What a worker runtime reads when it polls (``paused`` is true from the moment of the click)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    paused = serializers.BooleanField()
    paused_at = serializers.DateTimeField(allow_null=True)
    pause_reason = serializers.CharField()
    model_version = serializers.CharField()
    current_version = serializers.CharField(allow_null=True)
    human_approval_threshold = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True
    )


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id", "occurred_at", "actor_name", "action", "object_type", "object_id",
            "object_repr", "before", "after", "ticket_id", "model_version",
        ]  # fmt: skip
