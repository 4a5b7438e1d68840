"""The KPI API: KPIs, bulk measurement ingest (JSON or CSV), snapshots, check-ins, annotations, alerts.

Filters are the filter sets of ``kpis/filters.py``; services raise Django's
``ValidationError`` and ``opsai.api.exception_handler`` answers it as a 400.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Value, When
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import SAFE_METHODS
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
from kpis.filters import (
    AlertFilterSet,
    AnnotationFilterSet,
    CheckInFilterSet,
    KPIFilterSet,
    MeasurementFilterSet,
    SnapshotFilterSet,
)
from kpis.models import KPI, Alert, Annotation, CheckIn, Measurement, Snapshot
from kpis.selectors import VANITY, annotation_visible_to, kpi_visible_to
from kpis.services import (
    annotation_create,
    checkin_record,
    csv_records,
    kpi_create,
    kpi_update,
    measurements_ingest,
)
from opsai.parsers import BoundedJSONParser
from opsai.permissions import require


def _records(payload: Any) -> list[tuple[int, dict[str, Any]]]:
    """The posted rows with their line numbers: CSV text, a JSON list or ``{"measurements": [...]}``."""
    if isinstance(payload, str):
        return csv_records(payload)
    rows = payload.get("measurements") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise ValidationError({"measurements": "Send a list of {kpi, timestamp, value} objects."})
    return [(index + 1, row if isinstance(row, dict) else {}) for index, row in enumerate(rows)]


class CSVTextParser(BaseParser):
    """Hands a ``text/csv`` body to the view as text; a body that is not UTF-8 is a 400."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> str:
        try:
            return stream.read().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ParseError(
                f"The CSV body is not UTF-8 text ({error.reason} at byte {error.start}): "
                "save it as UTF-8 (e.g. not latin-1 or UTF-16) and send it again."
            ) from None


class KPIViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """KPI definitions with their current snapshot. Filter with ``?use_case=<id>``."""

    serializer_class = KPISerializer
    filterset_class = KPIFilterSet
    queryset = (
        KPI.objects.select_related("current_snapshot", "use_case__team")
        .annotate(vanity=Case(When(VANITY, then=Value(True)), default=Value(False)))
        .order_by("pk")
    )

    def get_queryset(self) -> Any:
        # A draft use case's KPIs are as private as the draft: absent from the list, 404.
        return kpi_visible_to(super().get_queryset(), self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, "kpis.manage_kpis")  # the role first; the use case's team below
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: KPISerializer) -> None:
        require(self.request.user, "kpis.change_kpi", serializer.validated_data["use_case"])
        data = dict(serializer.validated_data)
        data.pop("current_snapshot", None)
        serializer.instance = kpi_create(actor=self.request.user, **data)

    def get_object(self) -> KPI:
        """The KPI; a change is refused (403) before its body is read unless the user may make it."""
        kpi = super().get_object()
        if self.request.method not in SAFE_METHODS:
            require(self.request.user, "kpis.change_kpi", kpi)
        return kpi

    def perform_update(self, serializer: KPISerializer) -> None:
        require(self.request.user, "kpis.change_kpi", serializer.instance)
        data = dict(serializer.validated_data)
        data.pop("use_case", None)  # a KPI does not move between use cases
        serializer.instance = kpi_update(actor=self.request.user, kpi=serializer.instance, **data)


class MeasurementViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Measurements: list with ``?kpi=<id>&since=<iso>``; POST a bulk batch.

    POST a JSON list of ``{"kpi", "timestamp", "value"}`` (or ``{"measurements": [...]}``),
    or a ``text/csv`` body with those columns. All or nothing: any bad row rejects the
    batch with 400 and every bad row's line and reason. Re-sent timestamps update.
    """

    serializer_class = MeasurementSerializer
    filterset_class = MeasurementFilterSet
    parser_classes = [BoundedJSONParser, CSVTextParser]
    queryset = Measurement.objects.order_by("kpi_id", "timestamp")

    def get_queryset(self) -> Any:
        # A draft's KPIs are private: so are their measurements.
        return kpi_visible_to(super().get_queryset(), self.request.user, via="kpi__")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, "kpis.manage_kpis")  # each row's KPI: measurements_ingest
        records = _records(request.data)
        batch = measurements_ingest(actor=request.user, source=BatchSource.API, records=records)
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
    filterset_class = SnapshotFilterSet
    queryset = Snapshot.objects.order_by("kpi_id", "-as_of")

    def get_queryset(self) -> Any:
        # A draft's KPIs are private: so are their snapshots.
        return kpi_visible_to(super().get_queryset(), self.request.user, via="kpi__")


class CheckInViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Weekly check-ins (``?kpi=<id>`` filters); POST records (or replaces) this week's for a KPI."""

    serializer_class = CheckInSerializer
    filterset_class = CheckInFilterSet
    queryset = CheckIn.objects.select_related("author").order_by("-week", "pk")

    def get_queryset(self) -> Any:
        # A draft's KPIs are private: so are their check-ins.
        return kpi_visible_to(super().get_queryset(), self.request.user, via="kpi__")

    def perform_create(self, serializer: CheckInSerializer) -> None:
        data = serializer.validated_data
        require(self.request.user, "kpis.check_in", data["kpi"])
        serializer.instance = checkin_record(actor=self.request.user, **data)


class AnnotationViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Chart markers; a release pipeline can POST one. ``?use_case=<id>`` filters."""

    serializer_class = AnnotationSerializer
    filterset_class = AnnotationFilterSet
    queryset = Annotation.objects.select_related("created_by").order_by("-starts_at")

    def get_queryset(self) -> Any:
        # A marker on someone else's draft (or its KPIs) is as private as the draft.
        return annotation_visible_to(super().get_queryset(), self.request.user)

    def perform_create(self, serializer: AnnotationSerializer) -> None:
        require(self.request.user, "kpis.add_annotation")
        serializer.instance = annotation_create(
            actor=self.request.user, **serializer.validated_data
        )


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Slip alerts (pending, firing, resolved); ``?state=firing`` filters."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet
    queryset = Alert.objects.order_by("-started_at")

    def get_queryset(self) -> Any:
        # A draft's KPIs are private: so are their alerts.
        return kpi_visible_to(super().get_queryset(), self.request.user, via="kpi__")
