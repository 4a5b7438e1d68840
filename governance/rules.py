"""Permissions for governance, built from the predicates in ``opsai.permissions``."""

from __future__ import annotations

from typing import Any

import rules

from opsai.permissions import (
    can_write,
    has_any_role,
    is_admin,
    is_ops_lead,
    is_product_owner,
    is_reviewer,
)


def _team_of(obj: Any) -> Any:
    """The team a use case, AI worker or release belongs to."""
    if hasattr(obj, "worker"):  # a release
        obj = obj.worker
    if hasattr(obj, "use_case"):  # an AI worker
        obj = obj.use_case
    return obj.team


@rules.predicate
def is_team_product_owner(user: Any, obj: Any) -> bool:
    """A product owner of the team of ``obj`` — a use case, AI worker or release (any
    product owner when the team has none)."""
    if obj is None or not is_product_owner(user):
        return False
    team_owner = _team_of(obj).product_owner_id
    return team_owner is None or team_owner == user.pk


rules.add_perm("governance.view", has_any_role)
rules.add_perm("governance.view_audit", has_any_role)
rules.add_perm("governance.sign_off", is_product_owner | is_reviewer)
rules.add_perm("governance.edit_checklist", is_ops_lead | is_product_owner | is_reviewer | is_admin)
rules.add_perm("governance.open_review", is_ops_lead | is_product_owner | is_admin)
# Role-level (may this user manage AI workers at all?) and object-level (this use case's,
# worker's or release's team): a product owner of another team cannot change them.
rules.add_perm("governance.manage_worker", is_product_owner | is_admin)
rules.add_perm("governance.change_worker", is_admin | is_team_product_owner)
rules.add_perm("governance.pause_worker", is_reviewer | is_admin | is_team_product_owner)
rules.add_perm("governance.resume_worker", is_team_product_owner)
rules.add_perm("governance.manage_incident", can_write)
rules.add_perm("governance.manage_vendor", is_admin | is_reviewer)
rules.add_perm("governance.edit_policy", is_admin)
