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
from opsai.admin import ReadOnlyAdmin

# The rest are edited through the governance pages (which audit every change);
# the admin shows them read-only so nothing bypasses the services.
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
