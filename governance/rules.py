"""Permissions for governance, built from the predicates in ``opsai.permissions``."""

from __future__ import annotations

from typing import Any

import rules

from governance.choices import SignOffRole
from opsai.permissions import (
    EVERY_ROLE,
    WRITERS,
    can_write,
    has_any_role,
    is_admin,
    is_ops_lead,
    is_product_owner,
    is_reviewer,
    is_team_product_owner,
    nearest_product_owner_id,
    refuse_unless,
    refused_as_unit_product_owner,
    reviewer_specialty,
)
from opsai.roles import Role


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


def separation_of_duties_refusal(user: Any, use_case: Any) -> str | None:
    """ "Separation of duties: …" when ``user`` submitted or owns ``use_case``, else ``None``.

    Whoever submitted a use case, or owns it, never signs off its review: someone else must.
    """
    if user.pk == use_case.submitted_by_id:
        done = "submitted"
    elif user.pk == use_case.owner_id:
        done = "own"
    else:
        return None
    return (
        f"Separation of duties: you {done} this use case, so someone else must sign off its review."
    )


def sign_off_refusal(user: Any, sign_off: Any) -> str | None:
    """Why ``user`` may not give ``sign_off``, in their words — or ``None`` if they may.

    The one place that decides it: separation of duties first (never the submitter or the
    owner of the use case, whatever role they hold: it is the reason that stays true), the
    role (or specialty) that gives it, and for the product-owner sign-off the team's
    product owner or the one assigned.
    """
    use_case = sign_off.review.use_case
    separation = separation_of_duties_refusal(user, use_case)
    if separation:
        return separation
    role_label = SignOffRole(sign_off.role).label
    if not user_can_sign_role(user, sign_off.role):
        if sign_off.role == SignOffRole.PRODUCT_OWNER:
            return f"Only a product owner can give the {role_label} sign-off."
        return f"Only a {role_label} reviewer can give the {role_label} sign-off."
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


# The words for each refusal (``opsai.permissions.refusal``), next to the rules above.
def _sign_off_words(user: Any, obj: Any) -> str | None:
    """For a sign-off (or its review) in hand: separation of duties, else whose it is."""
    if obj is None:
        return None
    if obj._meta.model_name == "signoff":
        return sign_off_refusal(user, obj)
    return separation_of_duties_refusal(user, obj.use_case)  # a review


refuse_unless("governance.view", EVERY_ROLE, "read governance", reads=True)
refuse_unless("governance.view_audit", EVERY_ROLE, "read the audit trail", reads=True)
refuse_unless(
    "governance.sign_off",
    (Role.PRODUCT_OWNER, Role.REVIEWER),
    "sign off reviews",
    explain=_sign_off_words,
)
refuse_unless("governance.edit_checklist", WRITERS, "answer review checklists")
refuse_unless(
    "governance.open_review", (Role.OPS_LEAD, Role.PRODUCT_OWNER, Role.ADMIN), "open reviews"
)
refuse_unless(
    "governance.manage_worker",
    (Role.PRODUCT_OWNER, Role.ADMIN),
    "register AI workers and their releases",
)
refuse_unless(
    "governance.change_worker",
    (Role.PRODUCT_OWNER, Role.ADMIN),
    "change AI workers and their releases",
    explain=refused_as_unit_product_owner(
        "Only the product owner of {unit} (or an admin) changes its AI workers and releases."
    ),
)
refuse_unless(
    "governance.pause_worker",
    (Role.PRODUCT_OWNER, Role.REVIEWER, Role.ADMIN),
    "pause AI workers",
    explain=refused_as_unit_product_owner(
        "Only the product owner of {unit}, reviewers and admins pause its AI workers."
    ),
)
refuse_unless(
    "governance.resume_worker",
    (Role.PRODUCT_OWNER,),
    "resume paused AI workers",
    explain=refused_as_unit_product_owner(
        "Only the product owner of {unit} resumes its AI workers."
    ),
)
refuse_unless("governance.manage_incident", WRITERS, "record and handle incidents")
refuse_unless("governance.manage_vendor", (Role.REVIEWER, Role.ADMIN), "manage vendors")
refuse_unless("governance.edit_policy", (Role.ADMIN,), "change the lane policy")
