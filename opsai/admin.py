from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows but never adds, changes or deletes them: history and derived data (the
    audit trail, stage changes, scores, snapshots, governance records) change only through
    the services and jobs that write them, which audit what they do.

    Every registered admin derives from this or from ``audit.admin.AuditedAdmin`` (which
    also registers the user profile admin: opsai sits below audit and cannot import it).
    """

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
