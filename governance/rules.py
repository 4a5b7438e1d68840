"""Permissions for governance, built from the predicates in ``opsai.permissions``."""

from __future__ import annotations

from typing import Any

import rules

from governance.choices import SignOffRole
from opsai.permissions import (
    can_write,
    has_any_role,
    is_admin,
    is_ops_lead,
    is_product_owner,
    is_reviewer,
    is_team_product_owner,
    nearest_product_owner_id,
    reviewer_specialty,
)


def user_can_sign_role(user: Any, role: str) -> bool:
    """Does ``user`` hold the role or reviewer specialty that gives a sign-off of ``role``?"""
    if role == SignOffRole.PRODUCT_OWNER:
        return bool(is_product_owner(user))
    return bool(is_reviewer(user)) and reviewer_specialty(user) == role


def sign_off_named_product_owners(sign_off: Any) -> set[int]:
    """Who may give a product-owner sign-off: its assignee and the unit's product owner
    (the nearest one named up the organisation tree).

    The submitter and owner never count (separation of duties); an empty set means
    no one is named, so any product owner may sign.
    """
    use_case = sign_off.review.use_case
    named = {sign_off.assignee_id, nearest_product_owner_id(use_case.team)}
    return named - {None, use_case.submitted_by_id, use_case.owner_id}


def sign_off_refusal(user: Any, sign_off: Any) -> str | None:
    """Why ``user`` may not give ``sign_off``, in their words — or ``None`` if they may.

    The one place that decides it: the role (or specialty) that gives it, separation of
    duties (never the submitter or the owner of the use case), and for the product-owner
    sign-off the team's product owner or the one assigned.
    """
    role_label = SignOffRole(sign_off.role).label
    if not user_can_sign_role(user, sign_off.role):
        return f"Only a {role_label} reviewer can give the {role_label} sign-off."
    use_case = sign_off.review.use_case
    if user.pk in (use_case.submitted_by_id, use_case.owner_id):
        return "Separation of duties: you submitted or own this use case, so you cannot sign off its review."
    if sign_off.role == SignOffRole.PRODUCT_OWNER:
        named = sign_off_named_product_owners(sign_off)
        if named and user.pk not in named:
            return (
                f"Only the product owner of the {use_case.team.path_label} team "
                f"(or the one assigned) can give the {role_label} sign-off."
            )
    return None


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
