from django.contrib import admin

from governance.models import (
    AIWorker,
    ChecklistItem,
    Incident,
    IncidentStep,
    LaneAssignment,
    LanePolicy,
    LaneRule,
    Release,
    Review,
    SignOff,
    Vendor,
)


# The rest are edited through the governance pages (which audit every change);
# the admin shows them read-only so nothing bypasses the services.
class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


for model in (
    LanePolicy,
    LaneRule,
    LaneAssignment,
    Review,
    ChecklistItem,
    SignOff,
    Vendor,
    AIWorker,
    Release,
    Incident,
    IncidentStep,
):
    admin.site.register(model, ReadOnlyAdmin)
