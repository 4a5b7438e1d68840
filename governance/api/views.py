"""Governance API: every write goes through a service; permissions through ``opsai.permissions``.

Services raise Django's ``ValidationError``; ``opsai.api.exception_handler`` answers it
as a 400 in the API's one error shape.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from audit.filters import AuditEventFilterSet
from audit.selectors import audit_event_list
from governance import selectors, services
from governance.api import serializers as s
from governance.choices import SignOffRole
from governance.models import AIWorker, Incident, LaneAssignment, Release
from opsai.permissions import HasRole, has_any_role, require
from usecases.models import UseCase
from usecases.selectors import usecase_visibility


class LaneViewSet(viewsets.ReadOnlyModelViewSet):
    """Which lane each use case is in, the rule that decided and why."""

    serializer_class = s.LaneSerializer
    queryset = LaneAssignment.objects.select_related("use_case", "policy", "rule").order_by(
        "use_case_id"
    )
    filterset_fields = ["lane", "use_case"]
    lookup_field = "use_case"

    def get_queryset(self) -> Any:
        # Addressed by use case: someone else's draft is in no lane and answers 404.
        return (
            super()
            .get_queryset()
            .filter(usecase_visibility(self.request.user, through="use_case__"))
        )


class ReviewViewSet(viewsets.ReadOnlyModelViewSet):
    """Reviews with checklist and sign-offs; sign off and answer the checklist through actions."""

    serializer_class = s.ReviewSerializer
    queryset = selectors.review_detail_queryset().order_by("-opened_at", "-pk")
    filterset_fields = ["status", "use_case"]

    @extend_schema(request=s.SignOffInputSerializer, responses=s.ReviewSerializer)
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request: Request, pk: str) -> Response:
        review = self.get_object()
        # Asked with the review in hand, so a refusal can say why: separation of duties.
        require(request.user, "governance.sign_off", review)
        data = s.SignOffInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role = data.validated_data["role"]
        sign_off = next((so for so in review.sign_offs.all() if so.role == role), None)
        if sign_off is None:
            raise exceptions.ValidationError(
                {"role": [f"This review needs no {SignOffRole(role).label} sign-off."]}
            )
        services.review_sign_off(
            sign_off=sign_off, actor=request.user,
            decision=data.validated_data["decision"], comment=data.validated_data["comment"],
        )  # fmt: skip
        return Response(s.ReviewSerializer(self.get_queryset().get(pk=review.pk)).data)

    @extend_schema(request=s.ChecklistInputSerializer, responses=s.ReviewSerializer)
    @action(detail=True, methods=["post"])
    def checklist(self, request: Request, pk: str) -> Response:
        require(request.user, "governance.edit_checklist")
        data = s.ChecklistInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = self.get_object()
        item = get_object_or_404(review.checklist.all(), key=data.validated_data.pop("key"))
        services.review_checklist_update(item=item, actor=request.user, **data.validated_data)
        return Response(s.ReviewSerializer(self.get_queryset().get(pk=review.pk)).data)


class WorkerRuntimeAuthentication(BaseAuthentication):
    """``Authorization: Worker <token>`` — a worker runtime polling its own status."""

    keyword = b"worker"

    def authenticate(self, request: Request) -> tuple[Any, AIWorker] | None:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            return None
        digest = AIWorker.hash_token(parts[1].decode(errors="replace"))
        worker = AIWorker.objects.filter(runtime_token_hash=digest).first()
        if worker is None:
            raise exceptions.AuthenticationFailed("Unknown worker token.")
        return AnonymousUser(), worker

    def authenticate_header(self, request: Request) -> str:
        return "Worker"


class WorkerRuntimeAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the worker-token scheme in the OpenAPI schema."""

    target_class = "governance.api.views.WorkerRuntimeAuthentication"
    name = "workerRuntimeToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Worker <runtime token>`, shown once when the AI worker is created.",
        }


class RuntimeOrRole(BasePermission):
    """The worker's own runtime token, or a signed-in user with a role."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, AIWorker):
            return str(request.auth.pk) == str(view.kwargs.get("pk"))
        return bool(has_any_role(request.user))


class AIWorkerViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """AI workers; pause (the kill switch), resume, and the status a runtime polls."""

    serializer_class = s.AIWorkerSerializer
    queryset = selectors.worker_list().order_by("pk")
    filterset_fields = ["status", "use_case"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, "governance.manage_worker")
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        use_case = fields.pop("use_case")
        require(request.user, "governance.change_worker", use_case)
        worker = services.aiworker_create(use_case=use_case, actor=request.user, data=fields)
        body = {**s.AIWorkerSerializer(worker).data, "runtime_token": worker.runtime_token}
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, "governance.manage_worker")
        worker = self.get_object()
        require(request.user, "governance.change_worker", worker)
        data = self.get_serializer(worker, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "use_case"}
        worker = services.aiworker_update(worker=worker, actor=request.user, data=fields)
        return Response(s.AIWorkerSerializer(worker).data)

    @extend_schema(request=s.ReasonSerializer, responses=s.WorkerStatusSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        worker = self.get_object()
        require(request.user, "governance.pause_worker", worker)
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        worker = services.aiworker_pause(
            worker=worker, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(selectors.worker_status(worker))

    @extend_schema(request=s.NoteSerializer, responses=s.WorkerStatusSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        worker = self.get_object()
        require(request.user, "governance.resume_worker", worker)
        data = s.NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        worker = services.aiworker_resume(
            worker=worker, actor=request.user, note=data.validated_data["note"]
        )
        return Response(selectors.worker_status(worker))

    @extend_schema(responses=s.WorkerStatusSerializer)
    @action(
        detail=True,
        methods=["get"],
        authentication_classes=[
            WorkerRuntimeAuthentication,
            *viewsets.ViewSet.authentication_classes,
        ],
        permission_classes=[RuntimeOrRole],
    )
    def status(self, request: Request, pk: str) -> Response:
        """The kill-switch status a worker runtime polls: ``paused`` from the moment of the click."""
        worker = get_object_or_404(AIWorker, pk=pk)
        response = Response(selectors.worker_status(worker))
        add_never_cache_headers(response)
        return response


class ReleaseViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Releases of AI workers; a rollback is recorded through the ``rollback`` action."""

    serializer_class = s.ReleaseSerializer
    queryset = Release.objects.select_related("deployed_by").order_by("-deployed_at", "-pk")
    filterset_fields = ["worker"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, "governance.manage_worker")
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        require(request.user, "governance.change_worker", data.validated_data["worker"])
        release = services.release_create(
            worker=data.validated_data["worker"], actor=request.user,
            version=data.validated_data["version"], notes=data.validated_data.get("notes", ""),
            deployed_at=data.validated_data.get("deployed_at"),
        )  # fmt: skip
        return Response(s.ReleaseSerializer(release).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.RollbackSerializer, responses=s.ReleaseSerializer)
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str) -> Response:
        require(request.user, "governance.manage_worker")
        release = self.get_object()
        require(request.user, "governance.change_worker", release)
        data = s.RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rollback = services.release_rollback(
            release=release, actor=request.user,
            notes=data.validated_data["note"] or data.validated_data["notes"],
        )  # fmt: skip
        return Response(s.ReleaseSerializer(rollback).data, status=status.HTTP_201_CREATED)


class IncidentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Incidents with their playbook steps; update a step and close through actions."""

    serializer_class = s.IncidentSerializer
    queryset = Incident.objects.prefetch_related("steps__owner", "steps__done_by").order_by(
        "-opened_at"
    )
    filterset_fields = ["status", "use_case", "worker"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, "governance.manage_incident")
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        use_case: UseCase = fields.pop("use_case")
        incident = services.incident_open(use_case=use_case, actor=request.user, **fields)
        return Response(s.IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.IncidentStepInputSerializer, responses=s.IncidentSerializer)
    @action(detail=True, methods=["post"])
    def step(self, request: Request, pk: str) -> Response:
        require(request.user, "governance.manage_incident")
        incident = self.get_object()
        data = s.IncidentStepInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        step = get_object_or_404(incident.steps.all(), kind=fields.pop("kind"))
        services.incident_step_update(step=step, actor=request.user, **fields)
        return Response(s.IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(request=None, responses=s.IncidentSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        require(request.user, "governance.manage_incident")
        incident = services.incident_close(incident=self.get_object(), actor=request.user)
        return Response(s.IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, read-only: filter by object, actor, action and time."""

    serializer_class = s.AuditEventSerializer
    queryset = audit_event_list()
    filterset_class = AuditEventFilterSet
    permission_classes = [HasRole]

    def get_queryset(self) -> Any:
        # Someone else's draft (and its KPIs) leaves no trace in the trail either.
        return selectors.audit_events_visible_to(super().get_queryset(), self.request.user)
