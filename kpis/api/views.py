"""The KPI API: KPIs, bulk measurement ingest (JSON or CSV), snapshots, check-ins, annotations, alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Case, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from kpis.api.serializers import (
    AlertSerializer,
    AnnotationSerializer,
    CheckInSerializer,
    IngestBatchSerializer,
    KPISerializer,
    MeasurementSerializer,
    SnapshotSerializer,
)
from kpis.choices import BatchSource, BatchStatus
from kpis.models import KPI, Alert, Annotation, CheckIn, Measurement, Snapshot
from kpis.selectors import VANITY
from kpis.services import (
    annotation_create,
    checkin_record,
    csv_records,
    kpi_create,
    kpi_update,
    measurements_ingest,
)
from opsai.permissions import require


def _api_error(error: ValidationError) -> APIValidationError:
    return APIValidationError(
        error.message_dict if hasattr(error, "error_dict") else error.messages
    )


def _since(raw: str) -> datetime:
    """The ``?since=`` filter as an aware datetime (naive means UTC); 400 if it is not one."""
    try:
        since = parse_datetime(raw) or parse_date(raw)
    except ValueError:
        since = None
    if since is None:
        raise APIValidationError({"since": "Use an ISO 8601 date or date-time."})
    if not isinstance(since, datetime):
        since = datetime.combine(since, time.min)
    return since if timezone.is_aware(since) else since.replace(tzinfo=UTC)


class CSVTextParser(BaseParser):
    """Hands a ``text/csv`` body to the view as text."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> str:
        return stream.read().decode("utf-8-sig")


class KPIViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """KPI definitions with their current snapshot. Filter with ``?use_case=<id>``."""

    serializer_class = KPISerializer

    def get_queryset(self) -> Any:
        queryset = (
            KPI.objects.select_related("current_snapshot")
            .annotate(vanity=Case(When(VANITY, then=Value(True)), default=Value(False)))
            .order_by("pk")
        )
        if self.request.query_params.get("use_case", "").isdigit():
            queryset = queryset.filter(use_case_id=self.request.query_params["use_case"])
        return queryset

    def perform_create(self, serializer: KPISerializer) -> None:
        require(self.request.user, "kpis.change_kpi")
        data = dict(serializer.validated_data)
        data.pop("current_snapshot", None)
        try:
            serializer.instance = kpi_create(actor=self.request.user, **data)
        except ValidationError as error:
            raise _api_error(error) from error

    def perform_update(self, serializer: KPISerializer) -> None:
        require(self.request.user, "kpis.change_kpi")
        data = dict(serializer.validated_data)
        data.pop("use_case", None)  # a KPI does not move between use cases
        try:
            serializer.instance = kpi_update(
                actor=self.request.user, kpi=serializer.instance, **data
            )
        except ValidationError as error:
            raise _api_error(error) from error


class MeasurementViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Measurements: list with ``?kpi=<id>&since=<iso>``; POST a bulk batch.

    POST a JSON list of ``{"kpi", "timestamp", "value"}`` (or ``{"measurements": [...]}``),
    or a ``text/csv`` body with those columns. All or nothing: any bad row rejects the
    batch with 400 and every bad row's line and reason. Re-sent timestamps update.
    """

    serializer_class = MeasurementSerializer
    parser_classes = [JSONParser, CSVTextParser]

    def get_queryset(self) -> Any:
        queryset = Measurement.objects.order_by("kpi_id", "timestamp")
        params = self.request.query_params
        if params.get("kpi", "").isdigit():
            queryset = queryset.filter(kpi_id=params["kpi"])
        if params.get("since"):
            queryset = queryset.filter(timestamp__gte=_since(params["since"]))
        return queryset

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, "kpis.ingest")
        payload = request.data
        try:
            if isinstance(payload, str):
                records = csv_records(payload)
            else:
                rows = payload.get("measurements") if isinstance(payload, dict) else payload
                if not isinstance(rows, list):
                    raise ValidationError(
                        {"measurements": "Send a list of {kpi, timestamp, value} objects."}
                    )
                records = [
                    (index + 1, row if isinstance(row, dict) else {})
                    for index, row in enumerate(rows)
                ]
            batch = measurements_ingest(actor=request.user, source=BatchSource.API, records=records)
        except ValidationError as error:
            raise _api_error(error) from error
        body = IngestBatchSerializer(batch).data
        code = (
            status.HTTP_201_CREATED
            if batch.status == BatchStatus.SAVED
            else status.HTTP_400_BAD_REQUEST
        )
        return Response(body, status=code)


class SnapshotViewSet(viewsets.ReadOnlyModelViewSet):
    """Snapshot history; ``?kpi=<id>`` and ``?as_of=<date>`` filter it."""

    serializer_class = SnapshotSerializer

    def get_queryset(self) -> Any:
        queryset = Snapshot.objects.order_by("kpi_id", "-as_of")
        params = self.request.query_params
        if params.get("kpi", "").isdigit():
            queryset = queryset.filter(kpi_id=params["kpi"])
        if params.get("as_of"):
            try:
                as_of = date.fromisoformat(params["as_of"])
            except ValueError:
                raise APIValidationError({"as_of": "Use a date as YYYY-MM-DD."}) from None
            queryset = queryset.filter(as_of=as_of)
        return queryset


class CheckInViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Weekly check-ins; POST records (or replaces) this week's for a KPI."""

    serializer_class = CheckInSerializer

    def get_queryset(self) -> Any:
        queryset = CheckIn.objects.select_related("author").order_by("-week", "pk")
        if self.request.query_params.get("kpi", "").isdigit():
            queryset = queryset.filter(kpi_id=self.request.query_params["kpi"])
        return queryset

    def perform_create(self, serializer: CheckInSerializer) -> None:
        data = serializer.validated_data
        require(self.request.user, "kpis.check_in", data["kpi"])
        try:
            serializer.instance = checkin_record(actor=self.request.user, **data)
        except ValidationError as error:
            raise _api_error(error) from error


class AnnotationViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Chart markers; a release pipeline can POST one. ``?use_case=<id>`` filters."""

    serializer_class = AnnotationSerializer

    def get_queryset(self) -> Any:
        queryset = Annotation.objects.select_related("created_by").order_by("-starts_at")
        if self.request.query_params.get("use_case", "").isdigit():
            queryset = queryset.filter(use_case_id=self.request.query_params["use_case"])
        return queryset

    def perform_create(self, serializer: AnnotationSerializer) -> None:
        require(self.request.user, "kpis.add_annotation")
        try:
            serializer.instance = annotation_create(
                actor=self.request.user, **serializer.validated_data
            )
        except ValidationError as error:
            raise _api_error(error) from error


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Slip alerts (pending, firing, resolved); ``?state=firing`` filters."""

    serializer_class = AlertSerializer

    def get_queryset(self) -> Any:
        queryset = Alert.objects.order_by("-started_at")
        if self.request.query_params.get("state"):
            queryset = queryset.filter(state=self.request.query_params["state"])
        return queryset
