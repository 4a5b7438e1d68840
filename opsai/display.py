"""Stored dicts shown to people: labelled fields with human values, and the raw JSON beside.

A frozen decision copy or an audit event's before/after is JSON keyed by field names
(``{"exports_data": False, "systems_touched": ["crm", "ticketing"]}``). People read
rows instead: ``Exports data: No``, ``Systems touched: CRM, Ticketing``. The labels come
from the model's ``verbose_name``, the values from its choices; a field whose choices
the model cannot carry (a JSON list of codes) is described through
:func:`register_field_choices` by the app that owns it, in its ``AppConfig.ready``.
Keys no model knows are written out in words (``files_added`` → "Files added").
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst

from opsai import formatting

EMPTY = "—"

# (model label, field name) → {code: label}, for fields whose choices the model cannot carry.
_FIELD_CHOICES: dict[tuple[str, str], dict[str, str]] = {}

# Words a humanised key would otherwise get wrong.
_WORDS = {
    "id": "ID", "ip": "IP", "it": "IT", "kpi": "KPI", "kpis": "KPIs", "url": "URL", "ai": "AI", "sla": "SLA",
    "usecase": "use case", "aiworker": "AI worker",
}  # fmt: skip

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def register_field_choices(
    model: type[models.Model], name: str, choices: Iterable[tuple[Any, str]]
) -> None:
    """Say which labels the codes stored in ``model.name`` have (e.g. a JSON list of systems)."""
    _FIELD_CHOICES[(model._meta.label_lower, name)] = {
        str(code): str(label) for code, label in choices
    }


@dataclass(frozen=True)
class Row:
    """One labelled value; a nested dict (or list of dicts) has sub-rows instead of a value."""

    label: str
    value: str = ""
    rows: tuple[Row, ...] = field(default=())


@dataclass(frozen=True)
class Change:
    """One field that changed: its label and the human value before and after."""

    label: str
    before: str
    after: str


def model_for(label: str) -> type[models.Model] | None:
    """The model named ``"app_label.model"`` (an audit event's object type), if there is one."""
    try:
        return apps.get_model(label) if label else None
    except (LookupError, ValueError):
        return None


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return found if isinstance(found, models.Field) else None


def humanise_key(key: str) -> str:
    """``"files_added"`` → ``"Files added"``; ``"kpi_id"`` → ``"KPI ID"``."""
    words = [_WORDS.get(word, word) for word in str(key).replace(".", " ").split("_") if word]
    return capfirst(" ".join(words)) if words else str(key)


def field_label(model: type[models.Model] | None, name: str) -> str:
    """The label people know ``name`` by: the model field's verbose name, else the key in words."""
    found = _field(model, name)
    if found is not None and found.verbose_name != name.replace("_", " "):
        return capfirst(str(found.verbose_name))
    return humanise_key(name)


def _choices(model: type[models.Model] | None, name: str) -> dict[str, str]:
    if model is not None and (model._meta.label_lower, name) in _FIELD_CHOICES:
        return _FIELD_CHOICES[(model._meta.label_lower, name)]
    found = _field(model, name)
    if found is not None and found.choices:
        return {str(code): str(label) for code, label in found.flatchoices}
    return {}


def _field_value(model: type[models.Model] | None, name: str, value: Any) -> str:
    """A stored field value in words; a foreign key's id reads as "#12"."""
    found = _field(model, name)
    is_id = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.isdigit()
    )
    if found is not None and found.is_relation and is_id:
        return f"#{value}"
    return human_value(value, _choices(model, name))


def _when(value: dt.datetime | dt.date) -> str:
    # The one formatting layer, so a stored moment reads as it does on every other page.
    if isinstance(value, dt.datetime):
        return formatting.datetime(value)
    return formatting.date(value)


def _parsed_when(value: str) -> dt.datetime | dt.date | None:
    try:
        if _ISO_DATETIME.match(value):
            return parse_datetime(value)
        if _ISO_DATE.match(value):
            return parse_date(value)
    except ValueError:
        return None
    return None


def human_value(value: Any, choices: Mapping[str, str] | None = None) -> str:
    """``value`` as a person reads it: Yes/No, choice labels, lists joined, dates formatted, — for nothing."""
    choices = choices or {}
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple | set):
        return ", ".join(human_value(item, choices) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{humanise_key(k)}: {human_value(v)}" for k, v in value.items())
    if isinstance(value, dt.datetime | dt.date):
        return _when(value)
    if isinstance(value, int):
        return choices.get(str(value), f"{value:,}")
    if isinstance(value, float | Decimal):
        try:
            return f"{Decimal(str(value)).normalize():,f}"
        except InvalidOperation:
            return str(value)
    text = str(value)
    if text in choices:
        return choices[text]
    when = _parsed_when(text)
    return _when(when) if when is not None else text


def _is_rows(value: Any) -> bool:
    """A dict, or a non-empty list of dicts: shown as sub-rows, not one line."""
    if isinstance(value, dict):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _in_model_order(
    data: Mapping[str, Any], model: type[models.Model] | None
) -> list[tuple[str, Any]]:
    """``data``'s items in the order the model declares its fields (PostgreSQL's jsonb keeps
    keys in its own order), keys the model does not know after them, as they came."""
    if model is None:
        return list(data.items())
    declared = [*model._meta.fields, *model._meta.many_to_many]  # not reverse relations
    position = {f.name: i for i, f in enumerate(declared)}
    known = sorted((k for k in data if k in position), key=position.__getitem__)
    return [(k, data[k]) for k in known] + [(k, v) for k, v in data.items() if k not in position]


def display_rows(
    data: Mapping[str, Any] | None,
    *,
    model: type[models.Model] | None = None,
    nested: Mapping[str, type[models.Model]] | None = None,
    labels: Mapping[str, str] | None = None,
    item_label: str = "",
) -> list[Row]:
    """``data`` as labelled rows; ``nested`` names the model of a key holding a dict (or dicts).

    ``labels`` overrides a key's label; a list of dicts becomes one sub-row group per
    element, labelled by its ``item_label`` key (e.g. ``"name"``) or its position.
    """
    nested, labels = nested or {}, labels or {}
    rows = []
    for key, value in _in_model_order(data or {}, model):
        label = labels.get(key) or field_label(model, key)
        if _is_rows(value):
            sub_model = nested.get(key)
            if isinstance(value, dict):
                sub_rows = display_rows(value, model=sub_model)
            else:
                sub_rows = [
                    Row(
                        label=human_value(element.get(item_label), _choices(sub_model, item_label))
                        if item_label and element.get(item_label) not in (None, "")
                        else f"{index}",
                        rows=tuple(
                            display_rows(
                                {k: v for k, v in element.items() if k != item_label},
                                model=sub_model,
                            )
                        ),
                    )
                    for index, element in enumerate(value, start=1)
                ]
            rows.append(Row(label=label, rows=tuple(sub_rows)))
        else:
            rows.append(Row(label=label, value=_field_value(model, key, value)))
    return rows


def changed_rows(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    model: type[models.Model] | None = None,
    prefix: str = "",
) -> list[Change]:
    """The fields whose value differs between ``before`` and ``after``, before → after.

    A key holding a dict on both sides is compared field by field, its label prefixed
    ("Data handling › Answer"); a key on one side only is shown against —.
    """
    before, after = before or {}, after or {}
    changes = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        label = f"{prefix}{field_label(model, key)}"
        if isinstance(old, dict) and isinstance(new, dict):
            changes += changed_rows(old, new, prefix=f"{label} › ")
            continue
        old_text, new_text = _field_value(model, key, old), _field_value(model, key, new)
        if old_text != new_text:  # None and "" both read "—": no change to show
            changes.append(Change(label, old_text, new_text))
    return changes


def raw_json(*parts: Any, **named: Any) -> str:
    """Pretty-printed JSON of what is stored, for auditors (``raw_json(before=…, after=…)``)."""
    value = named if named else (parts[0] if len(parts) == 1 else list(parts))
    return json.dumps(value, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False, sort_keys=True)


def compact_json(value: Any) -> str:
    """``value`` as one line of JSON (an export's cell), ``""`` for nothing stored."""
    if value is None:
        return ""
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
