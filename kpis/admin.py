"""Admin for KPIs: read mostly; measurements and snapshots are written by services and jobs."""

from django.contrib import admin

from kpis.models import KPI, Alert, Annotation, CheckIn, IngestBatch, RefreshRun, Snapshot


@admin.register(KPI)
class KPIAdmin(admin.ModelAdmin):
    list_display = ["name", "use_case", "level", "direction", "cadence", "owner"]
    list_filter = ["level", "cadence"]
    search_fields = ["name", "use_case__title"]
    raw_id_fields = ["current_snapshot", "parent"]


@admin.register(IngestBatch)
class IngestBatchAdmin(admin.ModelAdmin):
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
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["kpi", "as_of", "latest_value", "status", "rolled_up_status"]
    list_filter = ["status"]
    raw_id_fields = ["kpi", "run"]


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "started_at",
        "finished_at",
        "full",
        "kpis_refreshed",
        "alerts_fired",
        "error",
    ]


admin.site.register(CheckIn)
admin.site.register(Annotation)
admin.site.register(Alert)
