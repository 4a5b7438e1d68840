"""Permissions for use cases, built from the predicates in ``opsai.permissions``."""

import rules

from opsai.permissions import has_any_role, is_admin, is_ops_lead

rules.add_perm("usecases.view_usecase", has_any_role)
rules.add_perm("usecases.add_usecase", is_ops_lead | is_admin)
