"""An organisation's own use-case fields: the one owner of how their values are read and checked.

Values are stored in ``UseCase.custom`` as JSON under the field's key, always in one
form per kind, so filters, exports and the API never meet two spellings of a value:

- text, URL, choice → the string; number → a JSON number; date → ``"YYYY-MM-DD"``;
  yes/no → ``true``/``false``. A blank value is simply absent from the dict.

The form, the API, the import and the export all go through :func:`custom_value_parse`
and :func:`custom_value_text`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from opsai import formatting
from usecases.choices import CustomFieldKind
from usecases.models import CustomField

TEXT_MAX = 2000
URL_MAX = 2000
NUMBER_MAX = Decimal("1e15")  # beyond any count or amount a use case carries
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}

Value = str | float | int | bool


def custom_fields() -> list[CustomField]:
    """Every custom field, in display order (few: one query per page is enough)."""
    return list(CustomField.objects.all())


def custom_value_parse(field: CustomField, raw: Any) -> tuple[Value | None, str]:
    """(the stored value, "") — or (None, the reason in words) when ``raw`` will not do.

    ``raw`` may be text (a form, a file's cell) or already typed (JSON from the API).
    Blank → (None, ""): the field is left empty.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, ""
    kind = field.kind
    if kind == CustomFieldKind.YES_NO:
        if isinstance(raw, bool):
            return raw, ""
        word = str(raw).strip().lower()
        if word in YES:
            return True, ""
        if word in NO:
            return False, ""
        return None, "is not yes or no"
    if kind == CustomFieldKind.NUMBER:
        if isinstance(raw, bool):
            return None, "is not a number"
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            return None, "is not a number"
        if not number.is_finite() or abs(number) >= NUMBER_MAX:
            return None, "is not a number opsai can hold"
        as_float = float(number)
        if math.isfinite(as_float) and as_float.is_integer():
            return int(as_float), ""
        return as_float, ""
    text = str(raw).strip()
    if kind == CustomFieldKind.DATE:
        try:
            return date.fromisoformat(text[:10]).isoformat(), ""
        except ValueError:
            return None, "is not a date (YYYY-MM-DD)"
    if kind == CustomFieldKind.CHOICE:
        for choice in field.choices:
            if choice.lower() == text.lower():
                return choice, ""
        return None, "is not one of: " + ", ".join(field.choices)
    if kind == CustomFieldKind.URL:
        if len(text) > URL_MAX:
            return None, f"is longer than {URL_MAX} characters"
        try:
            URLValidator(schemes=["http", "https"])(text)
        except ValidationError:
            return None, "is not a web address (http:// or https://)"
        return text, ""
    if len(text) > TEXT_MAX:
        return None, f"is longer than {TEXT_MAX} characters"
    return text, ""


def custom_values_clean(
    raw: dict[str, Any],
    *,
    fields: list[CustomField] | None = None,
    base: dict[str, Any] | None = None,
) -> dict[str, Value]:
    """``base`` updated with ``raw`` (key → value), checked; raises ValidationError naming fields.

    A key no custom field has is refused; a blank value removes the key.
    """
    fields = custom_fields() if fields is None else fields
    by_key = {f.key: f for f in fields}
    result = dict(base or {})
    problems = {}
    for key, raw_value in raw.items():
        field = by_key.get(key)
        if field is None:
            problems[key] = f"{key}: no custom field is called {key!r}."
            continue
        value, problem = custom_value_parse(field, raw_value)
        if problem:
            problems[key] = f"{field.label}: {problem}."
        elif value is None:
            result.pop(key, None)
        else:
            result[key] = value
    if problems:
        raise ValidationError(list(problems.values()))
    return result


def custom_value_text(field: CustomField | None, value: Any) -> str:
    """The stored value as a person reads it (pages and exports).

    A value that does not fit its field — the field was deleted (``None``) or changed
    kind since — is shown as the text it holds, so it never breaks a page or export.
    """
    if value is None or value == "":
        return ""
    kind = field.kind if field is not None else None
    if kind == CustomFieldKind.YES_NO and isinstance(value, bool):
        return "Yes" if value else "No"
    if (
        kind == CustomFieldKind.NUMBER
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        return formatting.number(value, 0 if isinstance(value, int) else 2)
    if isinstance(value, bool):
        return "true" if value else "false"  # as stored: its field is no longer yes/no
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)[:TEXT_MAX]
    return str(value)[:TEXT_MAX]


@dataclass(frozen=True)
class CustomValue:
    """One custom value of a use case as a page shows it."""

    key: str
    label: str
    text: str
    kind: str  # "" when its field is gone
    help_text: str = ""

    @property
    def is_url(self) -> bool:
        return self.kind == CustomFieldKind.URL and self.text.startswith(("http://", "https://"))


def custom_values_display(
    custom: dict[str, Any] | Any, fields: list[CustomField]
) -> list[CustomValue]:
    """The use case's custom values, labelled, in the fields' order; values whose field
    was deleted follow, under their key (never dropped, never an error)."""
    stored = custom if isinstance(custom, dict) else {}
    shown = [
        CustomValue(f.key, f.label, custom_value_text(f, stored.get(f.key)), f.kind, f.help_text)
        for f in fields
        if stored.get(f.key) not in (None, "")
    ]
    known = {f.key for f in fields}
    shown += [
        CustomValue(key, f"{key} (field removed)", custom_value_text(None, value), "")
        for key, value in stored.items()
        if key not in known and value not in (None, "")
    ]
    return shown
