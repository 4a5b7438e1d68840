"""Permissions for use cases, built from the predicates in ``opsai.permissions``.

- everyone with a role reads (executives only read) — except drafts: a use case not
  submitted yet is private to its owner, its submitter, its team's product owner and
  admins; anyone else is answered 404, as if it did not exist. The queryset twin of
  this rule is ``usecases.selectors.usecase_visibility`` (a test keeps them in step);
- ops leads (and admins) create use cases, import them and score them;
- the owner edits and submits their own drafts; admins edit anything;
- the owner reveals the blind scores;
- a product owner moves the stages of their own team's use cases (any product owner
  while the team has none named);
- admins create scoring-model versions; admins add, rename and move organisation
  units; admins and the unit's product owner set the unit's hourly cost; admins
  define custom fields;
- admins and the unit's product owner invite a use case's contact (``usecases.contacts``).

"The unit's product owner" is the nearest one named up the tree
(``opsai.permissions.is_team_product_owner``).
"""

from typing import Any

import rules

from opsai.permissions import (
    EVERY_ROLE,
    WRITERS,
    can_write,
    has_any_role,
    is_admin,
    is_ops_lead,
    is_team_product_owner,
    refuse_unless,
    refused_as_unit_product_owner,
    register_refusal,
)
from opsai.roles import Role


@rules.predicate
def is_use_case_owner(user: Any, use_case: Any) -> bool:
    return use_case is not None and use_case.owner_id is not None and use_case.owner_id == user.pk


@rules.predicate
def is_draft(user: Any, use_case: Any) -> bool:
    return use_case is not None and use_case.submitted_at is None


@rules.predicate
def is_use_case_submitter(user: Any, use_case: Any) -> bool:
    return (
        use_case is not None
        and use_case.submitted_by_id is not None
        and use_case.submitted_by_id == user.pk
    )


# Who works on a draft. Without an object (a list page) ``is_draft`` is false, so the
# permission is just "has a role"; the list itself is filtered by usecase_visibility.
works_on_draft = is_use_case_owner | is_use_case_submitter | is_team_product_owner | is_admin

rules.add_perm("usecases.view_usecase", has_any_role & (~is_draft | works_on_draft))
rules.add_perm("usecases.add_usecase", is_ops_lead | is_admin)
rules.add_perm("usecases.change_usecase", (can_write & is_use_case_owner & is_draft) | is_admin)
rules.add_perm("usecases.score_usecase", is_ops_lead | is_admin)
rules.add_perm("usecases.reveal_scores", (can_write & is_use_case_owner) | is_admin)
rules.add_perm("usecases.move_stage", is_team_product_owner | is_admin)
rules.add_perm("usecases.add_scoringmodel", is_admin)
rules.add_perm("usecases.add_team", is_admin)
rules.add_perm("usecases.change_team", is_admin | is_team_product_owner)
# The organisation's own use-case fields are defined by admins (page and Django admin).
for _action in ("view", "add", "change", "delete"):
    rules.add_perm(f"usecases.{_action}_customfield", is_admin)
rules.add_perm("usecases.organise_units", is_admin)  # rename and move units
# Inviting a use case's contact creates an account: admins, and the unit's product owner.
rules.add_perm("usecases.invite_contact", is_admin | is_team_product_owner)


@rules.predicate
def is_import_sender(user: Any, job: Any) -> bool:
    return job is not None and job.created_by_id is not None and job.created_by_id == user.pk


# An import job (its file name, its bad rows) is seen by whoever sent it, and admins.
rules.add_perm("usecases.view_importjob", (has_any_role & is_import_sender) | is_admin)


# The words for each refusal (``opsai.permissions.refusal``), next to the rules above.
def _draft_refusal(user: Any, use_case: Any) -> str | None:
    if use_case is not None and use_case.submitted_at is None:
        return (
            "This use case is a draft: until it is submitted only its owner, its submitter, "
            "its unit's product owner and admins see it."
        )
    return None


def _edit_refusal(user: Any, use_case: Any) -> str | None:
    if use_case is None:
        return None
    if use_case.submitted_at is not None:
        return "This use case has been submitted; only an admin edits it now."
    return "Only the owner of this draft (or an admin) edits it."


register_refusal(
    "usecases.view_usecase", _draft_refusal, fallback="Everyone with an opsai role reads use cases."
)
refuse_unless("usecases.add_usecase", (Role.OPS_LEAD, Role.ADMIN), "submit use cases")
refuse_unless(
    "usecases.change_usecase",
    WRITERS,
    "edit use cases",
    explain=_edit_refusal,
    fallback="The owner edits a use case until it is submitted; admins edit any.",
)
refuse_unless("usecases.score_usecase", (Role.OPS_LEAD, Role.ADMIN), "score use cases")
refuse_unless(
    "usecases.reveal_scores",
    WRITERS,
    "reveal blind scores",
    explain=lambda user, use_case: (
        "Only the owner of this use case (or an admin) reveals its blind scores."
        if use_case is not None
        else None
    ),
    fallback="The owner of a use case (or an admin) reveals its blind scores.",
)
refuse_unless(
    "usecases.move_stage",
    (Role.PRODUCT_OWNER, Role.ADMIN),
    "move use cases between stages",
    explain=refused_as_unit_product_owner(
        "Only the product owner of {unit} (or an admin) moves its stages."
    ),
)
refuse_unless("usecases.add_scoringmodel", (Role.ADMIN,), "publish scoring-model versions")
refuse_unless("usecases.add_team", (Role.ADMIN,), "add organisation units")
refuse_unless(
    "usecases.change_team",
    (Role.PRODUCT_OWNER, Role.ADMIN),
    "change organisation units",
    explain=refused_as_unit_product_owner(
        "Only the product owner of {unit} (or an admin) changes it."
    ),
)
for _action in ("view", "add", "change", "delete"):
    refuse_unless(f"usecases.{_action}_customfield", (Role.ADMIN,), "define custom fields")
refuse_unless("usecases.organise_units", (Role.ADMIN,), "rename and move organisation units")
refuse_unless(
    "usecases.invite_contact",
    (Role.PRODUCT_OWNER, Role.ADMIN),
    "invite a use case's contact",
    explain=refused_as_unit_product_owner(
        "Only the product owner of {unit} (or an admin) invites its contacts."
    ),
)
refuse_unless(
    "usecases.view_importjob",
    EVERY_ROLE,
    "see the imports they sent",
    reads=True,
    explain=lambda user, job: "Only whoever sent this import (and admins) sees it."
    if job is not None
    else None,
    fallback="Whoever sent an import (and admins) sees it.",
)
