"""Admin for KPIs: edits are audited; snapshots and refresh runs, computed by jobs, are read-only."""

from django.contrib import admin

from audit.admin import AuditedAdmin
from kpis.models import KPI, Alert, Annotation, CheckIn, IngestBatch, RefreshRun, Snapshot
from opsai.admin import ReadOnlyAdmin


@admin.register(KPI)
class KPIAdmin(AuditedAdmin):
    list_display = ["name", "use_case", "level", "direction", "cadence", "owner"]
    list_filter = ["level", "cadence"]
    search_fields = ["name", "use_case__title"]
    raw_id_fields = ["current_snapshot", "parent"]


@admin.register(IngestBatch)
class IngestBatchAdmin(AuditedAdmin):
    list_display = [
        "pk",
        "source",
        "status",
        "created_by",
        "created_at",
        "rows_accepted",
        "rows_rejected",
    ]
    exclude = ["payload"]


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    """Computed by the refresh job; an edit would be overwritten by the next refresh."""

    list_display = ["kpi", "as_of", "latest_value", "status", "rolled_up_status"]
    list_filter = ["status"]
    raw_id_fields = ["kpi", "run"]


@admin.register(RefreshRun)
class RefreshRunAdmin(ReadOnlyAdmin):
    """The record of each refresh job, written by the job itself."""

    list_display = [
        "pk",
        "started_at",
        "finished_at",
        "full",
        "kpis_refreshed",
        "alerts_fired",
        "error",
    ]


admin.site.register(CheckIn, AuditedAdmin)
admin.site.register(Annotation, AuditedAdmin)
admin.site.register(Alert, AuditedAdmin)
