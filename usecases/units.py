"""Reads over the organisation-unit tree: the tree for display, a unit's subtree, roll-ups.

A unit's subtree is every unit whose ``path`` starts with its own (``Team.path``, kept
by ``Team.save``), so "this unit and everything below it" is one indexed ``WHERE``
whatever the depth. Roll-ups group the use cases by their own unit in PostgreSQL (one
``GROUP BY``), then fold each unit's totals into every unit above it in Python: the
tree has a few hundred units at most, the use cases may be ten thousand, and the
query count depends on neither.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from usecases.choices import Stage
from usecases.models import PATH_SEPARATOR, Team, UseCase
from usecases.selectors import _MONEY, ESTIMATED_COST_PER_YEAR, usecase_visible_to


def unit_tree(root: Team | None = None) -> list[Team]:
    """Every unit (or ``root`` and the units below it) in tree order: a parent right before
    its children, siblings by name; ``depth`` gives the indent. One query.

    Sorted here on the names along each path, not by the database on the joined label: a
    locale's collation may skip the separator and put "IRSa" between "IRS" and its children.
    """
    units = Team.objects.select_related("product_owner", "parent").filter(
        unit_subtree_q(root, through="")
    )
    return sorted(units, key=lambda u: [n.casefold() for n in u.path_label.split(PATH_SEPARATOR)])


def unit_subtree_q(unit: Team | None, *, through: str = "team__") -> Q:
    """A WHERE condition: rows of ``unit`` and of every unit below it (``Q()`` without a unit).

    ``through`` is the lookup path from the filtered model to its unit: ``"team__"`` for
    use cases, ``"use_case__team__"`` for KPIs, ``""`` for units themselves.
    """
    if unit is None:
        return Q()
    return Q(**{f"{through}path__startswith": unit.path})


@dataclass
class UnitRollup:
    """One unit's use cases and estimated value, its own plus every unit's below it."""

    unit: Team
    use_cases: int = 0
    value: Decimal = Decimal(0)
    stages: dict[str, int] = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return self.unit.depth

    def stage_list(self) -> list[tuple[str, int]]:
        """(stage label, count) in lifecycle order, the stages with none left out."""
        return [(s.label, self.stages[s.value]) for s in Stage if self.stages.get(s.value)]


def fold_up(units: list[Team], own: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Add each unit's own totals (``own[unit id]``, numbers or dicts of numbers) to itself
    and to every unit above it, by the ids in its path. Pure: no query."""
    totals: dict[int, dict[str, Any]] = defaultdict(dict)
    known = {unit.pk for unit in units}
    for unit in units:
        mine = own.get(unit.pk)
        if not mine:
            continue
        for ancestor_id in _path_ids(unit.path):
            if ancestor_id not in known:
                continue
            into = totals[ancestor_id]
            for key, value in mine.items():
                if isinstance(value, dict):
                    bucket = into.setdefault(key, {})
                    for sub, n in value.items():
                        bucket[sub] = bucket.get(sub, 0) + n
                else:
                    into[key] = into.get(key, 0) + value
    return totals


def _path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def unit_rollups(viewer: Any = None, *, root: Team | None = None) -> list[UnitRollup]:
    """Per unit (all of them, or ``root``'s subtree), in tree order: how many use cases
    ``viewer`` may see sit in it or below it, their summed value estimate and their count
    per stage. Two queries whatever the number of units and use cases."""
    units = unit_tree(root)
    rows = (
        usecase_visible_to(UseCase.objects.all(), viewer)
        .filter(unit_subtree_q(root))
        .values("team_id", "stage")
        .annotate(
            n=Count("pk"),
            value=Coalesce(Sum(ESTIMATED_COST_PER_YEAR), Value(Decimal(0)), output_field=_MONEY),
        )
        .order_by()
    )
    own: dict[int, dict[str, Any]] = defaultdict(lambda: {"use_cases": 0, "value": Decimal(0)})
    for row in rows:
        mine = own[row["team_id"]]
        mine["use_cases"] += row["n"]
        mine["value"] += row["value"]
        mine.setdefault("stages", {})[row["stage"]] = row["n"]
    totals = fold_up(units, own)
    return [
        UnitRollup(
            unit=unit,
            use_cases=totals[unit.pk].get("use_cases", 0),
            value=totals[unit.pk].get("value", Decimal(0)),
            stages=totals[unit.pk].get("stages", {}),
        )
        for unit in units
    ]


def unit_from_query(raw: str | None) -> Team | None:
    """The unit a ``?unit=<id>`` parameter names, or ``None`` (absent, not a number, or gone)."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    return Team.objects.filter(pk=int(raw)).first()


@dataclass
class UnitCounts:
    """A row of a per-unit breakdown: the unit, its counts (its own and below), whether it is
    the unit the page is filtered on (its total) or one of the units right below it."""

    unit: Team
    counts: dict[str, int]
    keys: tuple[str, ...] = ()
    is_selected: bool = False

    @property
    def cells(self) -> list[int]:
        """The counts in the order of ``keys``, for a table row."""
        return [self.counts.get(key, 0) for key in self.keys]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def unit_breakdown(
    queryset: QuerySet[Any],
    *,
    unit_field: str,
    key_field: str,
    keys: tuple[str, ...],
    unit: Team | None = None,
    units: list[Team] | None = None,
) -> list[UnitCounts]:
    """Rows of ``queryset`` counted per ``key_field`` value (a lane, a KPI status, …) for
    ``unit`` (its total first) and each unit right below it — the top-level units without
    one — each rolled up over its whole subtree, so a page drills down one level at a time
    and stays short at any size. ``unit_field`` is the lookup to the row's unit id, e.g.
    ``"use_case__team_id"``; ``keys`` orders each row's ``cells``. Two queries: one GROUP
    BY, and the units — one if the page already loaded ``units`` (every unit, as
    :func:`unit_tree` gives them) for its unit filter.
    """
    own: dict[int, dict[str, Any]] = defaultdict(lambda: {"counts": {}})
    grouped = queryset.values(unit_field, key_field).annotate(n=Count("pk")).order_by()
    for row in grouped:
        key = row[key_field] if row[key_field] is not None else ""
        counts = own[row[unit_field]]["counts"]
        counts[key] = counts.get(key, 0) + row["n"]
    if units is None:
        units = unit_tree(unit)
    elif unit is not None:
        units = [u for u in units if u.path.startswith(unit.path)]
    totals = fold_up(units, own)
    parent_id = unit.pk if unit is not None else None
    rows = [
        UnitCounts(u, totals[u.pk].get("counts", {}), keys)
        for u in units
        if u.parent_id == parent_id and totals[u.pk].get("counts")
    ]
    if unit is not None:
        rows.insert(0, UnitCounts(unit, totals[unit.pk].get("counts", {}), keys, is_selected=True))
    return rows
