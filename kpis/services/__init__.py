"""Writes for KPIs: definitions, check-ins, annotations and measurement ingest — one module per
subject, re-exported here so callers write ``from kpis.services import kpi_create``.

Every state change records an audit event inside its transaction.
"""

from kpis.services.annotations import annotation_create, annotation_end_open_range
from kpis.services.checkins import checkin_record, week_start
from kpis.services.definitions import kpi_create, kpi_stack_create_from_template, kpi_update
from kpis.services.ingest import (
    BACKGROUND_INGEST_ROWS,
    MAX_ABS_VALUE,
    csv_records,
    excel_records,
    measurement_batch_queue,
    measurement_record,
    measurements_ingest,
    measurements_parse,
    measurements_upload,
)
from kpis.services.jobs import ingest_batch_process, stale_jobs_sweep

__all__ = [
    "BACKGROUND_INGEST_ROWS",
    "MAX_ABS_VALUE",
    "annotation_create",
    "annotation_end_open_range",
    "checkin_record",
    "csv_records",
    "excel_records",
    "ingest_batch_process",
    "kpi_create",
    "kpi_stack_create_from_template",
    "kpi_update",
    "measurement_batch_queue",
    "measurement_record",
    "measurements_ingest",
    "measurements_parse",
    "measurements_upload",
    "stale_jobs_sweep",
    "week_start",
]
