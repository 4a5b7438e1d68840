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


@rules.predicate
def is_worker_product_owner(user: Any, worker: Any) -> bool:
    """A product owner of the worker's team (any product owner when the team has none)."""
    if worker is None or not is_product_owner(user):
        return False
    team_owner = worker.use_case.team.product_owner_id
    return team_owner is None or team_owner == user.pk


rules.add_perm("governance.view", has_any_role)
rules.add_perm("governance.view_audit", has_any_role)
rules.add_perm("governance.sign_off", is_product_owner | is_reviewer)
rules.add_perm("governance.edit_checklist", is_ops_lead | is_product_owner | is_reviewer | is_admin)
rules.add_perm("governance.open_review", is_ops_lead | is_product_owner | is_admin)
rules.add_perm("governance.manage_worker", is_product_owner | is_admin)
rules.add_perm("governance.pause_worker", is_reviewer | is_admin | is_worker_product_owner)
rules.add_perm("governance.resume_worker", is_worker_product_owner)
rules.add_perm("governance.manage_incident", can_write)
rules.add_perm("governance.manage_vendor", is_admin | is_reviewer)
rules.add_perm("governance.edit_policy", is_admin)
