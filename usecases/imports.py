"""Import many use cases from a CSV or Excel file: all rows or none.

The first row names the columns: the intake field names (``title``, ``team``,
``owner``, ``problem``, … see ``usecases.services.INTAKE_FIELDS``), plus optional
``id`` (update that use case instead of creating one), ``template_key`` and
``submit`` (yes/no). ``team`` is the team name, ``owner`` a username,
``systems_touched`` a comma-separated list, booleans are yes/no. Every row is
validated like the intake form; each bad row is reported with its line number and
reason, and a file with any bad row saves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from opsai import tabular
from usecases.catalog import USE_CASE_TEMPLATES
from usecases.forms import UseCaseForm
from usecases.models import Team, UseCase
from usecases.services import INTAKE_FIELDS, usecase_create, usecase_update

EXTRA_COLUMNS = ("id", "template_key", "submit")
TRUE_WORDS = {"yes", "y", "true", "1"}
FALSE_WORDS = {"no", "n", "false", "0"}


@dataclass
class ImportReport:
    """What an import did, or — when ``errors`` is not empty — why it saved nothing."""

    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Rollback(Exception):
    pass


def read_rows(*, name: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, column → text) for each non-empty data row of a CSV or .xlsx file."""
    try:
        table = tabular.read_table(content, filename=name)
    except tabular.TabularError as error:
        raise ValidationError(_unreadable(error)) from error
    if not table.header:
        raise ValidationError("The file is empty.")
    header = table.header
    unknown = [c for c in header if c and c not in INTAKE_FIELDS and c not in EXTRA_COLUMNS]
    if unknown:
        raise ValidationError(f"Line 1: unknown columns: {', '.join(unknown)}.")
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:  # which of the two cells would win is a guess: refuse rather than pick one
        raise ValidationError(f"Line 1: columns named twice: {', '.join(twice)}.")
    if "title" not in header and "id" not in header:
        raise ValidationError("Line 1: a 'title' column (or an 'id' column to update) is needed.")
    return table.rows


def _unreadable(error: tabular.TabularError) -> str:
    """Why the file could not be read, in this importer's words."""
    if error.kind == tabular.TabularError.NOT_UTF8:
        return "The CSV file is not UTF-8 text."
    if error.kind == tabular.TabularError.BAD_EXCEL:
        return f"Could not read the Excel file: {error.detail}"
    if error.line:
        return f"Line {error.line}: could not read the CSV file ({error.detail})."
    return f"Could not read the CSV file ({error.detail})."


def _row_id(row: dict[str, str]) -> int | None:
    """The row's ``id`` column as a number, or None (isdigit alone lets "²" through)."""
    text = row.get("id", "")
    return int(text) if text.isascii() and text.isdigit() else None


def _form_data(
    row: dict[str, str], instance: UseCase | None, teams: dict[str, int], users: dict[str, int]
) -> tuple[dict[str, Any], list[str]]:
    """The intake form's POST data for a row (existing values where a column is absent)."""
    problems = []
    data: dict[str, Any] = {}
    if instance is not None:
        for name in INTAKE_FIELDS:
            value = getattr(instance, f"{name}_id" if name in ("team", "owner") else name)
            if isinstance(value, bool):
                value = "true" if value else "false"
            data[name] = "" if value is None else value
    for name in INTAKE_FIELDS:
        if name not in row:
            continue
        text = row[name]
        if name == "team":
            if text and text.lower() not in teams:
                problems.append(f"team: unknown team '{text}'")
            data[name] = teams.get(text.lower(), "")
        elif name == "owner":
            if text and text.lower() not in users:
                problems.append(f"owner: unknown user '{text}'")
            data[name] = users.get(text.lower(), "")
        elif name == "systems_touched":
            data[name] = [
                s.strip().lower().replace(" ", "_")
                for s in text.replace(";", ",").split(",")
                if s.strip()
            ]
        elif name in ("money_movement", "vendor_model"):
            data[name] = _yes_no(text, name, problems, blank="")
        elif name in ("trains_on_customer_data", "exports_data"):
            data[name] = "on" if _yes_no(text, name, problems, blank="false") == "true" else ""
        else:
            data[name] = text
    return data, problems


def _yes_no(text: str, name: str, problems: list[str], *, blank: str) -> str:
    word = text.lower()
    if not word:
        return blank
    if word in TRUE_WORDS:
        return "true"
    if word in FALSE_WORDS:
        return "false"
    problems.append(f"{name}: '{text}' is not yes or no")
    return blank


def usecase_import(*, actor: Any, name: str, content: bytes) -> ImportReport:
    """Create or update a use case per row, in one transaction: every row or none.

    Returns the report; when it has errors, nothing was saved.
    """
    report = ImportReport()
    try:
        rows = read_rows(name=name, content=content)
    except ValidationError as error:
        report.errors.extend(error.messages)
        return report
    if not rows:
        report.errors.append("The file has no data rows.")
        return report
    teams = {t.name.lower(): t.pk for t in Team.objects.all()}
    users = {u.username.lower(): u.pk for u in get_user_model().objects.filter(is_active=True)}
    ids = {_row_id(r) for _, r in rows} - {None}
    existing = UseCase.objects.select_related("team").in_bulk(ids)
    try:
        with transaction.atomic():
            for line, row in rows:
                _import_row(actor, line, row, existing, teams, users, report)
            if report.errors:
                raise _Rollback
    except _Rollback:
        report.created = report.updated = 0
    return report


def _import_row(
    actor: Any,
    line: int,
    row: dict[str, str],
    existing: dict[int, UseCase],
    teams: dict[str, int],
    users: dict[str, int],
    report: ImportReport,
) -> None:
    instance = None
    if row.get("id"):
        pk = _row_id(row)
        if pk not in existing:
            report.errors.append(f"Line {line}: id: no use case with id '{row['id']}'.")
            return
        instance = existing[pk]
        if not actor.has_perm("usecases.change_usecase", instance):
            report.errors.append(
                f"Line {line}: you may not edit use case {instance.pk} ({instance})."
            )
            return
    template_key = row.get("template_key", "")
    if template_key and template_key not in USE_CASE_TEMPLATES:
        report.errors.append(f"Line {line}: template_key: unknown template '{template_key}'.")
        return
    problems: list[str] = []
    submit = _yes_no(row.get("submit", ""), "submit", problems, blank="false") == "true"
    data, more = _form_data(row, instance, teams, users)
    problems += more
    form = UseCaseForm(data=data, instance=instance, require_complete=submit)
    if not form.is_valid():
        for field_name, messages in form.errors.items():
            problems += [f"{field_name}: {m.rstrip('.')}" for m in messages]
    if problems:
        report.errors.append(f"Line {line}: " + "; ".join(problems) + ".")
        return
    try:
        if instance is None:
            usecase_create(
                actor=actor, data=form.intake_data(), template_key=template_key, submit=submit
            )
            report.created += 1
        else:
            usecase_update(use_case=instance, actor=actor, data=form.intake_data(), submit=submit)
            report.updated += 1
    except ValidationError as error:
        report.errors.append(f"Line {line}: " + "; ".join(error.messages))
