"""Writes for governance: lanes, reviews and sign-offs, AI workers and
their releases, the kill switch, incidents and vendors — one module per subject,
re-exported here so callers write ``from governance.services import review_sign_off``."""

from governance.services.incidents import (
    guardrail_breach_handle,
    incident_close,
    incident_open,
    incident_step_update,
)
from governance.services.lanes import (
    lane_assign,
    lane_assign_bulk,
    lane_of,
    lane_policy_create,
    lane_policy_ensure_default,
    lane_stricter_reason,
)
from governance.services.reviews import (
    review_checklist_save,
    review_checklist_update,
    review_open,
    review_reopen,
    review_require_again,
    review_sign_off,
    review_sign_offs_sync,
    review_snapshot,
    review_withdraw,
)
from governance.services.workers import (
    aiworker_create,
    aiworker_pause,
    aiworker_resume,
    aiworker_rotate_token,
    aiworker_update,
    release_create,
    release_rollback,
    vendor_save,
)

__all__ = [
    "aiworker_create",
    "aiworker_pause",
    "aiworker_resume",
    "aiworker_rotate_token",
    "aiworker_update",
    "guardrail_breach_handle",
    "incident_close",
    "incident_open",
    "incident_step_update",
    "lane_assign",
    "lane_assign_bulk",
    "lane_of",
    "lane_policy_create",
    "lane_policy_ensure_default",
    "lane_stricter_reason",
    "release_create",
    "release_rollback",
    "review_checklist_save",
    "review_checklist_update",
    "review_open",
    "review_reopen",
    "review_require_again",
    "review_sign_off",
    "review_sign_offs_sync",
    "review_snapshot",
    "review_withdraw",
    "vendor_save",
]
