"""Permissions for KPIs, built from the predicates in ``opsai.permissions``.

Everyone with a role reads dashboards. Ops leads, product owners and admins define
KPIs and send measurements (``kpis.manage_kpis``, the forms and the data page); which
KPI they may change, send measurements into or check in on is the object rule below,
the one place it lives: the KPI's owner, the people of its use case's team
(``opsai.permissions.is_team_member``: the unit's product owner, nearest named up the tree, and the owners
and submitters of its use cases) and admins. Executives only read.
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
    is_product_owner,
    is_team_member,
    refuse_unless,
)
from opsai.roles import Role


@rules.predicate
def is_kpi_owner(user: Any, kpi: Any) -> bool:
    owner_id = getattr(kpi, "owner_id", None)
    return owner_id is not None and owner_id == user.pk


manages_kpis = is_ops_lead | is_product_owner | is_admin
# ``obj`` is a KPI, or the use case a new KPI goes into; without one only admins pass,
# so a view that forgets to name the object refuses instead of opening every KPI.
writes_kpi = is_admin | (can_write & (is_kpi_owner | is_team_member))

rules.add_perm("kpis.view_kpi", has_any_role)
rules.add_perm("kpis.manage_kpis", manages_kpis)
rules.add_perm("kpis.change_kpi", is_admin | (manages_kpis & writes_kpi))
rules.add_perm("kpis.ingest", is_admin | (manages_kpis & writes_kpi))
rules.add_perm("kpis.check_in", writes_kpi)
rules.add_perm("kpis.add_annotation", can_write)


# The words for each refusal (``opsai.permissions.refusal``), next to the rules above.
MANAGERS = (Role.OPS_LEAD, Role.PRODUCT_OWNER, Role.ADMIN)
_TEAM = "its owner, the people of its use case's team and admins"


def _kpi_people_only(doing: str) -> Any:
    """For someone refused on one KPI (or on adding one to a use case): who may."""

    def explain(user: Any, obj: Any) -> str | None:
        if obj is None:
            return None
        if obj._meta.model_name == "kpi":
            return f"Only this KPI's {_TEAM.removeprefix('its ')} {doing}."
        # kpis.change_kpi on a use case: adding a KPI to it.
        return (
            "Only the people of this use case's team (its unit's product owner, the owners "
            "and submitters of its use cases) and admins add KPIs to it."
        )

    return explain


refuse_unless("kpis.view_kpi", EVERY_ROLE, "read KPIs", reads=True)
refuse_unless("kpis.manage_kpis", MANAGERS, "define KPIs and send their data")
refuse_unless(
    "kpis.change_kpi",
    MANAGERS,
    "change KPIs",
    explain=_kpi_people_only("change it"),
    fallback=f"A KPI is changed by {_TEAM}.",
)
refuse_unless(
    "kpis.ingest",
    MANAGERS,
    "send KPI data",
    explain=_kpi_people_only("send its data"),
    fallback=f"A KPI's data is sent by {_TEAM}.",
)
refuse_unless(
    "kpis.check_in",
    WRITERS,
    "check in on KPIs",
    explain=_kpi_people_only("check in on it"),
    fallback=f"A KPI is checked in on by {_TEAM}.",
)
refuse_unless("kpis.add_annotation", WRITERS, "annotate charts")
