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
    can_write,
    has_any_role,
    is_admin,
    is_ops_lead,
    is_team_product_owner,
)


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
