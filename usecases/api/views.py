"""The use-case API: list/filter/retrieve/create/update, submit, scores, stage moves.

Same permissions as the pages: ``HasRole`` (a role; executives read only) plus the
object rules of ``usecases/rules.py`` checked with ``require``. Services raise Django's
``ValidationError``; ``opsai.api.exception_handler`` answers it as a 400. A move (or a
submission, which moves a draft on to scoring) refused by the lifecycle is a 400 in the
same shape, plus ``conditions``: every unmet condition with the page that resolves it,
``[{"condition": "...", "url": "https://…/kpis/usecases/7/"}, …]`` (``url`` empty when
no page does).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from opsai.api import validation_error_body
from opsai.permissions import require
from usecases import lifecycle
from usecases.api.serializers import (
    ImportJobSerializer,
    OnboardingJobSerializer,
    OnboardingMappingSerializer,
    ScoreSerializer,
    StageMoveSerializer,
    UseCaseSerializer,
    UseCaseWriteSerializer,
)
from usecases.filters import UseCaseFilterSet
from usecases.forms import upload_size_problem
from usecases.imports import usecase_import_submit
from usecases.models import ImportJob, UseCase
from usecases.onboarding_jobs import onboarding_confirm, onboarding_mapping_set, onboarding_upload
from usecases.scoring import CRITERION_KEYS
from usecases.selectors import (
    scores_visible_to,
    scoring_model_current,
    usecase_portfolio,
    usecase_sheets,
    usecase_visible_to,
)
from usecases.services import (
    score_submit,
    usecase_create,
    usecase_move_stage,
    usecase_submit,
    usecase_update,
)


def _refused(request: Request, refusal: lifecycle.MoveRefused, *, linked: bool = True) -> Response:
    """A refused move as a 400: the error shape of ``opsai.api`` plus each condition's link.

    ``linked=False`` for a creation refused whole: its links would name a use case that
    was never saved (create it as a draft, resolve them, then submit it).
    """
    body = validation_error_body(refusal.message_dict)
    body["conditions"] = [
        {
            "condition": condition.text,
            "url": request.build_absolute_uri(condition.url) if condition.url and linked else "",
        }
        for condition in refusal.conditions
    ]
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class UseCaseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Use cases of the portfolio, ranked by consensus score (filters as on the portfolio page)."""

    filterset_class = UseCaseFilterSet

    def get_queryset(self) -> Any:
        return usecase_portfolio(scoring_model=scoring_model_current(), viewer=self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action in ("create", "update", "partial_update"):
            return UseCaseWriteSerializer
        return UseCaseSerializer

    def _ranked(self, pk: int) -> dict[str, Any]:
        row = self.get_queryset().get(pk=pk)
        return UseCaseSerializer(row, context=self.get_serializer_context()).data

    def _object(self, pk: Any, permission: str) -> UseCase:
        # A draft the user may not see is a 404 on every action, not a 403.
        visible = usecase_visible_to(UseCase.objects.select_related("team"), self.request.user)
        use_case = get_object_or_404(visible, pk=pk)
        require(self.request.user, permission, use_case)
        return use_case

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, "usecases.add_usecase")
        serializer = UseCaseWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        template_key = data.pop("template_key", "")
        submit = data.pop("submit", False)
        data.setdefault("owner", request.user)
        try:
            use_case = usecase_create(
                actor=request.user, data=data, template_key=template_key, submit=submit
            )
        except lifecycle.MoveRefused as refusal:  # nothing saved: the submission refused
            return _refused(request, refusal, linked=False)
        return Response(self._ranked(use_case.pk), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        use_case = self._object(kwargs["pk"], "usecases.change_usecase")
        serializer = UseCaseWriteSerializer(
            use_case, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("template_key", None)
        submit = data.pop("submit", False)
        try:
            usecase_update(use_case=use_case, actor=request.user, data=data, submit=submit)
        except lifecycle.MoveRefused as refusal:
            return _refused(request, refusal)
        return Response(self._ranked(use_case.pk))

    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request: Request) -> Response:
        """Create or update many use cases from a CSV or .xlsx ``file``: every row or none.

        A file of up to ``USECASE_IMPORT_INLINE_ROWS`` rows is imported at once: 200 with
        the counts, or a 400 listing each bad row as "Line N: reason" under ``errors``
        (the API's error shape, see ``opsai.api``); nothing is saved then. A larger file
        answers 202 with the import job; follow it at ``GET /api/usecases/imports/<id>/``
        (its ``Location``). A file past the limits (bytes, rows, cell or column-name
        length, an .xlsx that unpacks too large) or with a bad header is a 400 at once.
        """
        require(request.user, "usecases.add_usecase")
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Upload a .csv or .xlsx file as 'file'."]})
        problem = upload_size_problem(upload.size)
        if problem:
            raise ValidationError({"file": [problem]})
        outcome = usecase_import_submit(actor=request.user, name=upload.name, content=upload.read())
        if isinstance(outcome, ImportJob):
            url = reverse("api-usecase-import-job-detail", args=[outcome.pk])
            data = ImportJobSerializer(outcome).data
            return Response(
                {**data, "url": url}, status=status.HTTP_202_ACCEPTED, headers={"Location": url}
            )
        if not outcome.ok:
            raise ValidationError(outcome.errors)
        return Response({"created": outcome.created, "updated": outcome.updated})

    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        """Submit a draft, which moves it on to scoring; a 400 names every missing field,
        or every unmet condition of the move (``conditions``, each with its ``url``)."""
        use_case = self._object(pk, "usecases.change_usecase")
        try:
            usecase_submit(use_case=use_case, actor=request.user)
        except lifecycle.MoveRefused as refusal:
            return _refused(request, refusal)
        return Response(self._ranked(use_case.pk))

    @action(detail=True, methods=["get", "post"], serializer_class=ScoreSerializer)
    def scores(self, request: Request, pk: str) -> Response:
        """GET: the sheets (blind until you scored or the owner revealed). POST: your sheet."""
        if request.method == "GET":
            use_case = self._object(pk, "usecases.view_usecase")
            sheets = usecase_sheets(use_case)
            if not scores_visible_to(use_case=use_case, user=request.user, sheets=sheets):
                return Response(
                    {
                        "detail": "Scoring is blind: submit your own score or wait for the owner to reveal.",
                        "submitted": sum(1 for s in sheets if s.superseded_at is None),
                    },
                    status=status.HTTP_403_FORBIDDEN,
                )
            return Response(ScoreSerializer(sheets, many=True).data)
        use_case = self._object(pk, "usecases.score_usecase")
        serializer = ScoreSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sheet = score_submit(
            use_case=use_case,
            scorer=request.user,
            values={key: data[key] for key in CRITERION_KEYS},
            rationales={key: data[f"{key}_rationale"] for key in CRITERION_KEYS},
        )
        return Response(ScoreSerializer(sheet).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], serializer_class=StageMoveSerializer)
    def move(self, request: Request, pk: str) -> Response:
        """Move to another stage (product owner of the team); a refusal is a 400 naming
        every unmet condition (``conditions``, each with the ``url`` that resolves it)."""
        use_case = self._object(pk, "usecases.move_stage")
        serializer = StageMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            usecase_move_stage(
                use_case=use_case,
                to_stage=serializer.validated_data["to_stage"],
                actor=request.user,
                note=serializer.validated_data["note"],
            )
        except lifecycle.MoveRefused as refusal:
            return _refused(request, refusal)
        return Response(self._ranked(use_case.pk))


class ImportJobViewSet(viewsets.GenericViewSet):
    """A background use-case import: state, progress, and the bad rows when it failed.

    Only whoever sent the file, and admins, see it; anyone else gets a 404.
    """

    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.defer("content").select_related("created_by")

    def retrieve(self, request: Request, pk: str) -> Response:
        require(request.user, "usecases.add_usecase")
        job = get_object_or_404(self.get_queryset(), pk=pk)
        if not request.user.has_perm("usecases.view_importjob", job):
            raise Http404
        return Response(ImportJobSerializer(job).data)


# --- Onboarding an existing inventory ------------------------------------------------------------


class OnboardingViewSet(viewsets.GenericViewSet):
    """Onboard another tool's inventory: upload, mapping, preview, confirm, follow the job.

    Only whoever sent the file, and admins, see a job; anyone else gets a 404.
    """

    serializer_class = OnboardingJobSerializer
    queryset = ImportJob.objects.defer("content").select_related("created_by").exclude(source="")

    def _job(self, pk: Any) -> ImportJob:
        require(self.request.user, "usecases.add_usecase")
        job = get_object_or_404(self.get_queryset(), pk=pk)
        if not self.request.user.has_perm("usecases.view_importjob", job):
            raise Http404
        return job

    def _answer(self, job: ImportJob, code: int) -> Response:
        job = self.get_queryset().get(pk=job.pk)
        url = reverse("api-usecase-onboarding-detail", args=[job.pk])
        return Response(OnboardingJobSerializer(job).data, status=code, headers={"Location": url})

    @staticmethod
    def _mapping(data: Any) -> dict[str, Any]:
        if isinstance(data, str):  # a multipart form field holds it as JSON text
            try:
                data = json.loads(data)
            except ValueError as error:
                raise ValidationError({"mapping": ["Not JSON."]}) from error
        serializer = OnboardingMappingSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @staticmethod
    def _options(data: Any) -> dict[str, Any]:
        if not data:
            return {}
        try:
            options = json.loads(data) if isinstance(data, str) else data
        except ValueError as error:
            raise ValidationError({"options": ["Not JSON."]}) from error
        if not isinstance(options, dict):
            raise ValidationError({"options": ["Give the options as a JSON object."]})
        return options

    def create(self, request: Request) -> Response:
        """Upload ``file`` from ``source``: 201 with the proposed mapping (state ``mapping``).

        With ``run=true`` the proposal (or ``mapping``, JSON: columns, values, options) is
        taken as confirmed — ``options`` (JSON) overriding its options, e.g.
        ``{"create_units": true}`` — and the rows are imported in the background at once:
        202 with the job to follow (its ``Location``).
        """
        require(request.user, "usecases.add_usecase")
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Upload a .csv or .xlsx file as 'file'."]})
        problem = upload_size_problem(upload.size)
        if problem:
            raise ValidationError({"file": [problem]})
        source = str(request.data.get("source", ""))
        job = onboarding_upload(
            actor=request.user, name=upload.name, content=upload.read(), source=source
        )
        run = str(request.data.get("run", "")).lower() in ("1", "true", "yes")
        given = request.data.get("mapping")
        extra = request.data.get("options")
        if not run and not given:
            return self._answer(job, status.HTTP_201_CREATED)
        mapping = self._mapping(given) if given else job.mapping
        options = {**(mapping.get("options") or {}), **self._options(extra)}
        job = onboarding_mapping_set(
            job=job,
            actor=request.user,
            columns=mapping["columns"],
            values=mapping.get("values") or {},
            options=options,
            check=not run,
        )
        return self._answer(job, status.HTTP_202_ACCEPTED if run else status.HTTP_200_OK)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(OnboardingJobSerializer(self._job(pk)).data)

    @action(detail=True, methods=["post"], serializer_class=OnboardingMappingSerializer)
    def mapping(self, request: Request, pk: str) -> Response:
        """Confirm the mapping: 200 with the preview (a small file) or 202 while the worker checks."""
        job = self._job(pk)
        mapping = self._mapping(request.data)
        job = onboarding_mapping_set(
            job=job,
            actor=request.user,
            columns=mapping["columns"],
            values=mapping.get("values") or {},
            options=mapping.get("options") or {},
        )
        code = status.HTTP_200_OK if job.state == "mapping" else status.HTTP_202_ACCEPTED
        return self._answer(job, code)

    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        """Import the previewed rows in the background: 202 with the job to follow."""
        job = onboarding_confirm(job=self._job(pk), actor=request.user)
        return self._answer(job, status.HTTP_202_ACCEPTED)
