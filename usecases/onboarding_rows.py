"""Check one inventory row under a confirmed mapping: what opsai would store, or why not.

No query per row: the units, users, custom fields and the use cases rows may update
are loaded once (:func:`check_context`), so checking 10,000 rows is a few seconds of
Python. Nothing here writes; ``usecases.onboarding_jobs`` writes what passed.

Matching (the issue's rule "an opsai id is only ever matched against opsai ids"):

- a row with an ``opsai_id`` updates that opsai use case — only if its title (when the
  row has one) is the use case's title, else the row is refused;
- a row with a ``source_id`` updates the use case imported earlier from the same
  source with that id, or creates one carrying it;
- any other row creates a use case (every time: the preview says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from opsai import tabular
from usecases.choices import Stage
from usecases.custom_fields import custom_value_parse
from usecases.forms import intake_label
from usecases.models import PATH_SEPARATOR, Team, UseCase
from usecases.onboarding import (
    REGISTERED_STAGES,
    STAGE_DATES,
    UNIT_LEVELS,
    Target,
    normalise,
    parse_date,
    split_multi,
    targets,
    value_match,
)
from usecases.services import usecase_missing_fields

# Fields a blank cell may clear (when the user asks): never the title, unit or stage.
NOT_CLEARED = {"title", "team", "stage", "source_id", "opsai_id", "template_key"}
# Free text is taken as it is (its length is checked by the model): not worth remembering.
_UNCACHED = frozenset({"text"})
_FIELD_NAMES = frozenset(f.name for f in UseCase._meta.concrete_fields)
_FOREIGN_KEYS = frozenset({"team", "owner", "submitted_by", "registered_by"})


@dataclass
class Problem:
    """One reason a row is refused: its line, the column (or field) and the problem in words."""

    line: int
    field: str
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "problem": self.problem}


@dataclass
class RowPlan:
    """A row that passed: the use case as opsai will store it, and what the write must do."""

    line: int
    instance: UseCase
    creating: bool
    unit_path: tuple[str, ...] | None = None  # a unit to create first (create_units)
    stages: list[tuple[Stage, datetime]] = field(default_factory=list)
    registered: bool = False
    dated: bool = False  # the file gave the date it reached its stage (else: the import time)
    submit: bool = False
    missing: list[str] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    before: dict[str, Any] = field(default_factory=dict)


class UnitIndex:
    """Every organisation unit, by (parent, name) and by path label, loaded once."""

    def __init__(self) -> None:
        self.children: dict[tuple[int | None, str], int] = {}
        self.by_label: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = {}
        self.labels: dict[int, str] = {}
        self._resolved: dict[tuple[str, ...], tuple[int | None, int]] = {}
        for pk, parent, name, label in Team.objects.values_list(
            "pk", "parent_id", "name", "path_label"
        ):
            self.children[(parent, name.lower())] = pk
            self.by_label[normalise(label)] = pk
            self.by_name.setdefault(name.lower(), []).append(pk)
            self.labels[pk] = label or name

    def resolve(self, names: list[str]) -> tuple[int | None, int]:
        """(the unit at the end of ``names``, how many levels were found from the root).

        A path that starts below the root ("IRS › Taxpayer services" where the tree is
        "Treasury › IRS › …") names the one unit whose path ends with it.
        """
        key = tuple(name.lower() for name in names)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(names)
        return self._resolved[key]

    def _resolve(self, names: list[str]) -> tuple[int | None, int]:
        parent: int | None = None
        for depth, name in enumerate(names):
            found = self.children.get((parent, name.lower()))
            if found is None:
                tail = normalise(PATH_SEPARATOR.join(names))
                ends = [pk for label, pk in self.by_label.items() if label.endswith(f" {tail}")]
                return (ends[0], len(names)) if len(ends) == 1 else (None, depth)
            parent = found
        return parent, len(names)


@dataclass
class Context:
    """Everything a row is checked against, loaded once per file."""

    actor: Any
    source: str
    columns: list[tuple[str, Target]]
    values: dict[str, dict[str, str]]
    options: dict[str, Any]
    units: UnitIndex
    users: dict[str, int]
    by_external_id: dict[str, UseCase]
    by_opsai_id: dict[int, UseCase]
    may_create_units: bool
    now: datetime
    seen_external: dict[str, int] = field(default_factory=dict)
    seen_opsai: dict[int, int] = field(default_factory=dict)
    # A value is read the same way every time it appears: 10,000 rows hold few distinct
    # stages, dates or flags, so each is matched once.
    read: dict[tuple[str, str], tuple[Any, str]] = field(default_factory=dict)


def check_context(
    *,
    actor: Any,
    source: str,
    mapping: dict[str, Any],
    rows: list[tuple[int, dict[str, str]]],
    lock: bool = False,
) -> Context:
    """Load what checking ``rows`` needs (a fixed number of queries, whatever the rows).

    ``lock``: lock the use cases the rows would update (the import's own transaction).
    """
    by_key = {t.key: t for t in targets()}
    columns = [(c, by_key[k]) for c, k in mapping.get("columns", {}).items() if k in by_key]
    id_columns = [c for c, t in columns if t.key == "source_id"]
    opsai_columns = [c for c, t in columns if t.key == "opsai_id"]
    external = {r.get(c, "").strip() for _, r in rows for c in id_columns} - {""}
    opsai_ids = {
        int(text)
        for _, r in rows
        for c in opsai_columns
        if (text := r.get(c, "").strip()).isascii() and text.isdigit() and len(text) < 12
    }
    query = UseCase.objects.select_for_update() if lock else UseCase.objects.all()
    users: dict[str, int] = {}
    for pk, username, email in (
        get_user_model().objects.filter(is_active=True).values_list("pk", "username", "email")
    ):
        users[username.lower()] = pk
        if email:
            users.setdefault(email.lower(), pk)
    return Context(
        actor=actor,
        source=source,
        columns=columns,
        values=mapping.get("values", {}),
        options=mapping.get("options", {}),
        units=UnitIndex(),
        users=users,
        by_external_id=(
            {u.external_id: u for u in query.filter(source=source, external_id__in=external)}
            if external
            else {}
        ),
        by_opsai_id=query.in_bulk(opsai_ids) if opsai_ids else {},
        may_create_units=bool(mapping.get("options", {}).get("create_units"))
        and actor.has_perm("usecases.add_team"),
        now=timezone.now(),
    )


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.replace(",", "").replace(" ", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _read(target: Target, raw: str, ctx: Context) -> tuple[Any, str]:
    """(the value to store, "") or (None, the problem). ``raw`` is not blank."""
    kind = target.kind
    if kind == "text":
        return raw, ""
    if kind in ("choice", "bool", "flag"):
        known = ctx.values.get(target.key, {})
        value = known[raw] if known.get(raw) else value_match(target, raw)
        if value is None or (value == "" and raw in known):
            allowed = ", ".join(v for v, _ in target.choices)
            return (
                None,
                f"{tabular.quote(raw)} is not one of: {allowed} (map it on the mapping page)",
            )
        if kind in ("bool", "flag"):
            return value == "yes" if value else None, ""
        return value, ""
    if kind == "multi":
        chosen = []
        for part in split_multi(raw):
            known = ctx.values.get(target.key, {})
            value = known.get(part) or value_match(target, part)
            if not value:
                allowed = ", ".join(v for v, _ in target.choices)
                return None, f"{tabular.quote(part)} is not one of: {allowed}"
            if value not in chosen:
                chosen.append(value)
        return chosen, ""
    if kind in ("int", "decimal", "share"):
        percent = kind == "share" and raw.endswith("%")
        number = _number(raw.rstrip("%").strip())
        if number is None:
            return None, f"{tabular.quote(raw)} is not a number"
        if percent:
            number = number / 100
        if kind == "int":
            if number != number.to_integral_value() or abs(number) >= 10**9:
                return None, f"{tabular.quote(raw)} is not a whole number"
            return int(number), ""
        return number, ""
    if kind == "date":
        day = parse_date(raw)
        if day is None:
            return None, f"{tabular.quote(raw)} is not a date (YYYY-MM-DD or MM/DD/YYYY)"
        if day > ctx.now.date():
            return None, f"{day.isoformat()} is in the future"
        return day, ""
    if kind == "owner":
        pk = ctx.users.get(raw.lower())
        return (pk, "") if pk else (None, f"no active user {tabular.quote(raw)}")
    if kind == "email":
        try:
            validate_email(raw)
        except ValidationError:
            return None, f"{tabular.quote(raw)} is not an email address"
        return raw.lower(), ""
    if kind == "custom" and target.custom is not None:
        known = ctx.values.get(target.key, {})
        if known.get(raw):
            raw = known[raw]
            if target.custom.kind == "yes_no":
                raw = raw == "yes"
        value, problem = custom_value_parse(target.custom, raw)
        return value, problem
    return raw, ""


def _blank(target: Target) -> Any:
    """What a blank cell stores when the user asked blank cells to clear fields."""
    if target.kind in ("text", "choice", "email"):
        return ""
    if target.kind == "multi":
        return []
    if target.kind == "flag":
        return False
    return None


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def check_row(line: int, row: dict[str, str], ctx: Context) -> RowPlan | list[Problem]:
    """The row as opsai will store it, or every problem it has (each naming its column)."""
    problems: list[Problem] = []
    cells: dict[str, Any] = {}
    blanks: list[Target] = []
    units: list[str] = [""] * UNIT_LEVELS
    unit_single = ""
    column_of: dict[str, str] = {}
    for column, target in ctx.columns:
        raw = (row.get(column) or "").strip()
        column_of[target.key] = column
        if target.kind == "unit":
            if target.key.startswith("unit_") and target.key[5:].isdigit():
                units[int(target.key[5:]) - 1] = raw
            elif raw:
                unit_single = raw
            continue
        if not raw:
            blanks.append(target)
            continue
        known = ctx.read.get((target.key, raw))
        if known is None:
            known = ctx.read[(target.key, raw)] = (
                _read(target, raw, ctx) if target.kind not in _UNCACHED else (raw, "")
            )
        value, problem = known
        if isinstance(value, list):
            value = list(value)  # a list is the row's own
        if problem:
            problems.append(Problem(line, column, problem))
        else:
            cells[target.key] = value
    instance, creating, problem = _match(line, cells, ctx, column_of)
    if problem is not None:
        return [problem, *problems]
    if problems:
        return problems
    assert instance is not None
    plan = RowPlan(line=line, instance=instance, creating=creating)
    if not creating:
        plan.before = {k: getattr(instance, k) for k in _plain_keys(cells, blanks)}
    unit_problem = _place_unit(plan, [u for u in units if u], unit_single, ctx, column_of)
    if unit_problem:
        problems.append(Problem(line, unit_problem[0], unit_problem[1]))
    _apply(plan, cells, blanks, ctx)
    problems += _stages(plan, cells, ctx, column_of)
    try:
        # Only what the row set (and the title a new one needs): the rest was valid already,
        # and foreign keys were looked up above (the model would ask the database per row).
        checked = ({k for k in cells if k in _FIELD_NAMES} | {"title"}) - _FOREIGN_KEYS
        if any(k.startswith("custom:") for k in cells):
            checked.add("custom")
        instance.clean_fields(exclude=[n for n in _FIELD_NAMES if n not in checked])
        instance.clean()
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            # The file's own column when one was mapped, else the label a person sees.
            where = column_of.get(name) or intake_label(name)
            problems += [Problem(line, where, m.rstrip(".")) for m in messages]
    if problems:
        return problems
    if creating:
        plan.missing = list(usecase_missing_fields(instance))
        plan.submit = plan.registered or not plan.missing
    else:
        plan.changed = {k for k, v in plan.before.items() if getattr(instance, k) != v}
        if plan.changed and not ctx.actor.has_perm("usecases.change_usecase", instance):
            # An unchanged row is fine (a re-import); a change needs the right to edit it.
            where = column_of.get("opsai_id") or column_of.get("source_id", "")
            return [Problem(line, where, f"you may not edit use case {instance.pk} ({instance})")]
    return plan


def _plain_keys(cells: dict[str, Any], blanks: list[Target]) -> set[str]:
    keys = set(cells) | {t.key for t in blanks}
    names = _FIELD_NAMES
    result = {k for k in keys if k in names and k not in ("stage",)} | {"team_id"}
    if any(k.startswith("custom:") for k in keys):
        result.add("custom")
    if "owner" in result:
        result.discard("owner")
        result.add("owner_id")
    return result


def _match(
    line: int, cells: dict[str, Any], ctx: Context, column_of: dict[str, str]
) -> tuple[UseCase | None, bool, Problem | None]:
    """The use case the row updates (or a new one), or why the row is refused."""
    opsai_id = cells.get("opsai_id")
    external = cells.get("source_id", "")
    if opsai_id is not None:
        where = column_of["opsai_id"]
        instance = ctx.by_opsai_id.get(opsai_id)
        if instance is None:
            return None, False, Problem(line, where, f"no opsai use case has id {opsai_id}")
        if opsai_id in ctx.seen_opsai:
            return (
                None,
                False,
                Problem(line, where, f"id {opsai_id} is on line {ctx.seen_opsai[opsai_id]} too"),
            )
        title = cells.get("title", "")
        if title and normalise(title) != normalise(instance.title):
            return (
                None,
                False,
                Problem(
                    line,
                    column_of.get("title", "title"),
                    f"{tabular.quote(title)} is not the title of use case {opsai_id} "
                    f"({tabular.quote(instance.title)}): the row is refused, nothing is changed",
                ),
            )
        ctx.seen_opsai[opsai_id] = line
        return instance, False, None
    if external:
        where = column_of["source_id"]
        if external in ctx.seen_external:
            return (
                None,
                False,
                Problem(
                    line,
                    where,
                    f"{tabular.quote(external)} is on line {ctx.seen_external[external]} too",
                ),
            )
        ctx.seen_external[external] = line
        instance = ctx.by_external_id.get(external)
        if instance is not None:
            return instance, False, None
    return UseCase(source=ctx.source, external_id=external), True, None


def _place_unit(
    plan: RowPlan, levels: list[str], single: str, ctx: Context, column_of: dict[str, str]
) -> tuple[str, str] | None:
    """Set the row's unit from its level columns, path or name; (column, problem) when it cannot."""
    names = levels
    where = next((column_of[f"unit_{n}"] for n in range(1, 7) if f"unit_{n}" in column_of), "")
    if not names and single:
        if "unit_path" in column_of:
            where = column_of["unit_path"]
            names = [p.strip() for p in single.replace("›", ">").split(">") if p.strip()]
        else:
            where = column_of.get("team", "team")
            pk = ctx.units.by_label.get(normalise(single))
            candidates = ctx.units.by_name.get(single.lower(), [])
            if pk is None and len(candidates) == 1:
                pk = candidates[0]
            if pk is None:
                many = len(candidates) > 1
                return where, (
                    f"{tabular.quote(single)} names {len(candidates)} units: give its full path"
                    if many
                    else f"no organisation unit is called {tabular.quote(single)}"
                )
            plan.instance.team_id = pk
            return None
    if not names:
        if plan.creating:
            default = ctx.options.get("default_unit")
            if default and int(default) in ctx.units.labels:
                plan.instance.team_id = int(default)
                return None
            return where or "unit", "a new use case needs an organisation unit"
        return None
    pk, found = ctx.units.resolve(names)
    if pk is not None:
        plan.instance.team_id = pk
        return None
    if ctx.may_create_units:
        plan.unit_path = tuple(names)
        plan.instance.team_id = -1  # set when the unit is created, before the row is written
        return None
    missing = PATH_SEPARATOR.join(names[: found + 1])
    levels_mapped = [column_of[f"unit_{n}"] for n in range(1, 7) if f"unit_{n}" in column_of]
    if "unit_path" not in column_of and found < len(levels_mapped):
        where = levels_mapped[found]  # the level whose unit is not there
    return where, (
        f"no organisation unit {tabular.quote(missing)} (an admin can create it, or map it "
        "with 'create missing organisation units')"
    )


def _apply(plan: RowPlan, cells: dict[str, Any], blanks: list[Target], ctx: Context) -> None:
    """Set the row's values on the use case; blank cells leave fields as they are unless asked."""
    instance = plan.instance
    custom = dict(instance.custom or {})
    settable = _FIELD_NAMES
    for key, value in cells.items():
        if key.startswith("custom:"):
            custom[key[7:]] = value
        elif key == "owner":
            instance.owner_id = value
        elif key == "source_id" or key == "opsai_id":
            continue
        elif key in settable and key != "stage":
            setattr(instance, key, value)
    if not plan.creating and ctx.options.get("clear_blank"):
        for target in blanks:
            if target.key in NOT_CLEARED or target.key in STAGE_DATES or target.kind == "date":
                continue
            if target.key.startswith("custom:"):
                custom.pop(target.key[7:], None)
            elif target.key == "owner":
                instance.owner_id = None
            elif target.key in settable:
                setattr(instance, target.key, _blank(target))
    instance.custom = custom
    if instance.high_impact and not instance.high_impact_justification.strip():
        # A register that marks a use case high-impact made that determination itself;
        # the rule "high-impact needs a justification" is met by saying whose it is,
        # rather than refusing every such row of a real inventory.
        instance.high_impact_justification = f"Determined high-impact in {ctx.source}."


def _stages(
    plan: RowPlan, cells: dict[str, Any], ctx: Context, column_of: dict[str, str]
) -> list[Problem]:
    """A new row's stage and the dates it reached it (registered as found past idea)."""
    if not plan.creating:
        return []  # a use case already here moves by the normal rules only
    stage = Stage(cells.get("stage") or Stage.IDEA)
    if stage not in REGISTERED_STAGES or not ctx.options.get("register_as_found", True):
        plan.stages = [(Stage.IDEA, ctx.now)]
        return []
    plan.registered = True
    chain = [
        s for s in REGISTERED_STAGES if s == stage or (s != Stage.RETIRED and _reached(s, stage))
    ]
    dates = {s: cells.get(key) for key, s in STAGE_DATES.items()}
    if cells.get("stage_since") and not dates.get(stage):
        dates[stage] = cells["stage_since"]
    chain = [s for s in chain if s == stage or dates.get(s)]
    entries: list[tuple[Stage, datetime]] = []
    problems = []
    for s in chain:
        when = _at(dates[s]) if dates.get(s) else ctx.now
        if entries and when < entries[-1][1]:
            key = next(k for k, v in STAGE_DATES.items() if v == s)
            problems.append(
                Problem(
                    plan.line,
                    column_of.get(key, key),
                    f"{when.date().isoformat()} is before it reached {entries[-1][0].label.lower()}",
                )
            )
        entries.append((s, when))
    plan.stages = entries
    plan.dated = bool(dates.get(stage))
    return problems


def _reached(stage: Stage, final: Stage) -> bool:
    """Whether a use case now at ``final`` went through ``stage`` on the way (pilot → production)."""
    order = [Stage.PILOT, Stage.PRODUCTION]
    if final == Stage.RETIRED:
        return stage in order
    return stage in order and order.index(stage) < order.index(final) if final in order else False
