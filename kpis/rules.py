"""Permissions for KPIs, built from the predicates in ``opsai.permissions``.

Everyone with a role reads dashboards; ops leads, product owners and admins define
KPIs and send measurements; a check-in belongs to the KPI's owner (or an ops lead/admin).
"""

from typing import Any

import rules

from opsai.permissions import can_write, has_any_role, is_admin, is_ops_lead, is_product_owner


@rules.predicate
def is_kpi_owner(user: Any, kpi: Any) -> bool:
    return kpi is not None and kpi.owner_id is not None and kpi.owner_id == user.pk


manages_kpis = is_ops_lead | is_product_owner | is_admin

rules.add_perm("kpis.view_kpi", has_any_role)
rules.add_perm("kpis.change_kpi", manages_kpis)
rules.add_perm("kpis.ingest", manages_kpis)
rules.add_perm("kpis.check_in", can_write & (is_kpi_owner | is_ops_lead | is_admin))
rules.add_perm("kpis.add_annotation", can_write)
