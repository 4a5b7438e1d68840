"""Import many use cases from a CSV or Excel file: all rows or none.

The first row names the columns: the intake field names (``title``, ``team``,
``owner``, ``problem``, … see ``usecases.services.INTAKE_FIELDS``), plus optional
``id`` (update that use case instead of creating one), ``template_key`` and
``submit`` (yes/no). ``team`` is the team name, ``owner`` a username,
``systems_touched`` a comma-separated list, booleans are yes/no. Every row is
validated like the intake form; each bad row is reported with its line number and
reason, and a file with any bad row saves nothing.

A file of up to ``USECASE_IMPORT_INLINE_ROWS`` rows is imported in the request; a
larger one (up to ``USECASE_IMPORT_MAX_ROWS``) is stored as an :class:`ImportJob` and
imported by ``usecases.tasks.usecase_import_run``, whose progress a page follows. The
request reads only the header and the first rows, so it answers in well under a
second whatever the file (the reader's caps, ``opsai.tabular``, bound the rest).

The import has two passes: every row is checked first (no writes, progress committed
as it goes), then — only if every row is good — every row is written in ONE
transaction, so the promise "all rows or none" holds even if the worker dies half way
(the transaction rolls back and the redelivered job starts again). Progress during
that transaction is written on a second database connection, which commits on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from audit.services import audit_record
from opsai import tabular
from opsai.jobs import enqueue_on_commit
from opsai.permissions import acting_user
from usecases.catalog import USE_CASE_TEMPLATES
from usecases.choices import ImportState
from usecases.forms import UseCaseForm, intake_label
from usecases.models import ImportJob, Team, UseCase
from usecases.services import CUSTOM_FIELD, INTAKE_FIELDS, usecase_create, usecase_update

# The intake fields a file's column may name (custom values are not one JSON column).
COLUMN_FIELDS: tuple[str, ...] = tuple(name for name in INTAKE_FIELDS if name != CUSTOM_FIELD)

EXTRA_COLUMNS = ("id", "opsai_id", "template_key", "submit")
TRUE_WORDS = {"yes", "y", "true", "1"}
FALSE_WORDS = {"no", "n", "false", "0"}
# Enough bad rows to fix a file; the count says how many more there are.
ERRORS_KEPT = 200
# One message stays readable, and 200 of them stay a small answer.
ERROR_CHARS = 500
# A workbook that unpacks to more than this is queued unread (see usecase_import_submit):
# a 200-row import unpacks to a few hundred KB; parsing 5 MB of XML takes about a second.
PEEK_UNPACKED_BYTES = 5 * 1024 * 1024
# How often a running job writes its progress.
PROGRESS_EVERY = 0.5  # seconds

Rows = list[tuple[int, dict[str, str]]]
Progress = Callable[..., None]


@dataclass
class ImportReport:
    """What an import did, or — when ``errors`` is not empty — why it saved nothing.

    ``errors`` holds the first ``ERRORS_KEPT`` messages; ``error_count`` counts them all.
    """

    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def refuse(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append(
                message if len(message) <= ERROR_CHARS else message[: ERROR_CHARS - 1] + "…"
            )


class _Rollback(Exception):
    pass


def import_limits() -> tabular.Limits:
    """What an import file may hold: the upload caps and ``USECASE_IMPORT_MAX_ROWS`` rows."""
    return tabular.upload_limits(max_rows=settings.USECASE_IMPORT_MAX_ROWS)


def read_rows(*, name: str, content: bytes, head: int | None = None) -> tabular.Table:
    """The file's table, its header checked: (line number, column → text) per non-empty row.

    ``head``: read only that many rows (``Table.more`` says whether there are others).
    """
    try:
        table = tabular.read_table(content, filename=name, limits=import_limits(), head=head)
    except tabular.TabularError as error:
        raise ValidationError(_unreadable(error)) from error
    if not table.header:
        raise ValidationError("The file is empty.")
    header = table.header
    unknown = [c for c in header if c and c not in COLUMN_FIELDS and c not in EXTRA_COLUMNS]
    if unknown:
        names = ", ".join(unknown[:10])  # each at most MAX_HEADER_CHARS: the reader checked
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise ValidationError(f"Line 1: unknown columns: {names}{more}.")
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:  # which of the two cells would win is a guess: refuse rather than pick one
        raise ValidationError(f"Line 1: columns named twice: {', '.join(twice)}.")
    if "id" in header and "opsai_id" in header:
        raise ValidationError("Line 1: give either an 'id' or an 'opsai_id' column, not both.")
    if "title" not in header and "id" not in header and "opsai_id" not in header:
        raise ValidationError("Line 1: a 'title' column (or an 'id' column to update) is needed.")
    return table


def _unreadable(error: tabular.TabularError) -> str:
    """Why the file could not be read, in this importer's words."""
    if error.kind == tabular.TabularError.NOT_UTF8:
        return "The CSV file is not UTF-8 text."
    if error.kind == tabular.TabularError.TOO_LARGE:
        where = f"Line {error.line}: " if error.line else ""
        return f"{where}{error.detail[:1].upper() if not where else error.detail[:1]}{error.detail[1:]}."
    if error.kind == tabular.TabularError.BAD_EXCEL:
        return f"Could not read the Excel file: {error.detail}"
    if error.line:
        return f"Line {error.line}: could not read the CSV file ({error.detail})."
    return f"Could not read the CSV file ({error.detail})."


def _row_id(row: dict[str, str]) -> int | None:
    """The row's ``id`` (or ``opsai_id``) as a number, or None (isdigit alone lets "²" through)."""
    text = row.get("id", "") or row.get("opsai_id", "")
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
    for name in COLUMN_FIELDS:
        if name not in row or (instance is not None and not row[name]):
            continue  # a blank cell leaves an existing use case's field as it is
        text = row[name]
        if name == "team":
            if text and text.lower() not in teams:
                problems.append(f"Team: unknown team {tabular.quote(text)}")
            data[name] = teams.get(text.lower(), "")
        elif name == "owner":
            if text and text.lower() not in users:
                problems.append(f"Owner: unknown user {tabular.quote(text)}")
            data[name] = users.get(text.lower(), "")
        elif name == "systems_touched":
            data[name] = [
                s.strip().lower().replace(" ", "_")
                for s in text.replace(";", ",").split(",")
                if s.strip()
            ]
        elif name in ("money_movement", "vendor_model", "high_impact"):
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
    problems.append(f"{intake_label(name)}: {tabular.quote(text)} is not yes or no")
    return blank


def usecase_import(
    *, actor: Any, name: str, content: bytes, progress: Progress | None = None
) -> ImportReport:
    """Create or update a use case per row of the file: every row or none.

    Returns the report; when it has errors, nothing was saved.
    """
    try:
        table = read_rows(name=name, content=content)
    except ValidationError as error:
        report = ImportReport()
        for message in error.messages:
            report.refuse(message)
        return report
    return usecase_import_rows(actor=actor, rows=table.rows, progress=progress)


@dataclass
class _Checked:
    """A row that passed every check, ready to write."""

    line: int
    instance: UseCase | None
    data: dict[str, Any]
    template_key: str
    submit: bool


def usecase_import_rows(
    *, actor: Any, rows: Rows, progress: Progress | None = None
) -> ImportReport:
    """Check every row, then — only if all are good — write them all in one transaction.

    ``progress(rows_checked=…)`` and ``progress(rows_saved=…)`` are called as the two
    passes go (at most every ``PROGRESS_EVERY`` seconds, and at the end of each).
    """
    report = ImportReport()
    if not rows:
        report.refuse("The file has no data rows.")
        return report
    tick = _Ticker(progress)
    checked = _check_rows(actor, rows, report, tick)
    if not report.ok:
        return report
    try:
        with transaction.atomic():
            for done, row in enumerate(checked, start=1):
                _write_row(actor, row, report)
                tick(rows_saved=done)
            if not report.ok:
                raise _Rollback
            tick(rows_saved=len(checked), last=True)
    except _Rollback:
        report.created = report.updated = 0
    return report


class _Ticker:
    """Calls ``progress`` at most every PROGRESS_EVERY seconds (and on ``last``)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.at = time.monotonic()

    def __call__(self, *, last: bool = False, **counts: int) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if last or now - self.at >= PROGRESS_EVERY:
            self.at = now
            self.progress(**counts)


def _check_rows(actor: Any, rows: Rows, report: ImportReport, tick: _Ticker) -> list[_Checked]:
    """The first pass: every row validated like the intake form; nothing is written."""
    teams = {t.name.lower(): t.pk for t in Team.objects.all()}
    users = {u.username.lower(): u.pk for u in get_user_model().objects.filter(is_active=True)}
    ids = {_row_id(r) for _, r in rows} - {None}
    existing = UseCase.objects.select_related("team").in_bulk(ids)
    checked = []
    for done, (line, row) in enumerate(rows, start=1):
        result = _check_row(actor, line, row, existing, teams, users)
        if isinstance(result, str):
            report.refuse(result)
        elif report.ok:  # once a row is bad nothing is written: keep no more
            checked.append(result)
        tick(rows_checked=done)
    tick(rows_checked=len(rows), last=True)
    return checked


def _check_row(
    actor: Any,
    line: int,
    row: dict[str, str],
    existing: dict[int, UseCase],
    teams: dict[str, int],
    users: dict[str, int],
) -> _Checked | str:
    """The row ready to write, or the message naming its line and what is wrong."""
    instance = None
    if row.get("id") or row.get("opsai_id"):
        pk = _row_id(row)
        if pk not in existing:
            text = row.get("id") or row.get("opsai_id", "")
            return f"Line {line}: id: no use case with id {tabular.quote(text)}."
        instance = existing[pk]
        if not actor.has_perm("usecases.change_usecase", instance):
            return f"Line {line}: you may not edit use case {instance.pk} ({instance})."
        title = row.get("title", "")
        if title and " ".join(title.lower().split()) != " ".join(instance.title.lower().split()):
            # Another tool's ids are numbers too: an id is only trusted with its own title.
            return (
                f"Line {line}: title: {tabular.quote(title)} is not the title of use case "
                f"{instance.pk} ({tabular.quote(instance.title)}); the row is refused."
            )
    template_key = row.get("template_key", "")
    if template_key and template_key not in USE_CASE_TEMPLATES:
        return f"Line {line}: template_key: unknown template {tabular.quote(template_key)}."
    problems: list[str] = []
    submit = _yes_no(row.get("submit", ""), "submit", problems, blank="false") == "true"
    data, more = _form_data(row, instance, teams, users)
    problems += more
    # No custom-field columns here yet: an empty list spares the form a query per row.
    form = UseCaseForm(data=data, instance=instance, require_complete=submit, custom_field_defs=[])
    if not form.is_valid():
        named = {problem.split(":", 1)[0] for problem in problems}
        # "Team: unknown team 'X'" says more than "Team is required": one message a field.
        said = {name for name in form.errors if intake_label(name) in named}
        problems += [message.rstrip(".") for message in form.error_summary(skip=said)]
    if problems:
        return f"Line {line}: " + "; ".join(problems) + "."
    return _Checked(line, instance, form.intake_data(), template_key, submit)


def _write_row(actor: Any, row: _Checked, report: ImportReport) -> None:
    """The second pass, inside the one transaction: create or update one use case."""
    try:
        if row.instance is None:
            usecase_create(
                actor=actor, data=row.data, template_key=row.template_key, submit=row.submit
            )
            report.created += 1
        else:
            usecase_update(use_case=row.instance, actor=actor, data=row.data, submit=row.submit)
            report.updated += 1
    except ValidationError as error:
        report.refuse(f"Line {row.line}: " + "; ".join(error.messages))


# --- Large files: a background job with progress -------------------------------------------


def _unpacked_size(content: bytes) -> int:
    try:
        return tabular.excel_unpacked_size(content, limits=import_limits())
    except tabular.TabularError as error:
        raise ValidationError(_unreadable(error)) from error


def usecase_import_submit(*, actor: Any, name: str, content: bytes) -> ImportReport | ImportJob:
    """Import a small file now (the report), or queue a large one as a job (the job).

    Reads only the header and the first ``USECASE_IMPORT_INLINE_ROWS`` rows, so the
    request stays short however large the file; a bad header or an unreadable file is
    refused here, before any job is made. A workbook that unpacks past
    ``PEEK_UNPACKED_BYTES`` is not opened here at all: the job reads it.
    """
    try:
        if tabular.is_excel(name) and _unpacked_size(content) > PEEK_UNPACKED_BYTES:
            # openpyxl parses a workbook's whole shared-strings table before its first row
            # (80 MB of it took a minute): a workbook this large goes to the job unread.
            return usecase_import_queue(actor=actor, name=name, content=content)
        table = read_rows(name=name, content=content, head=settings.USECASE_IMPORT_INLINE_ROWS)
    except ValidationError as error:
        report = ImportReport()
        for message in error.messages:
            report.refuse(message)
        return report
    if not table.more:
        return usecase_import_rows(actor=actor, rows=table.rows)
    return usecase_import_queue(actor=actor, name=name, content=content)


@transaction.atomic
def usecase_import_queue(*, actor: Any, name: str, content: bytes) -> ImportJob:
    """Store the file as a queued job and hand it to the worker once this transaction commits."""
    job = ImportJob(created_by=acting_user(actor), filename=name[:255], content=content)
    job.full_clean()
    job.save()
    audit_record(
        actor=actor,
        action="usecase.import_queued",
        target=job,
        after={"filename": job.filename, "bytes": len(content)},
    )
    enqueue_on_commit("usecases.tasks.usecase_import_run", job.pk)
    return job


def import_job_claim(job_id: int) -> bool:
    """Claim a queued import job (either kind) for this worker; False if another has it.

    A conditional UPDATE, so two workers never run it together; a job left *running* by
    a worker that died (longer than a task may run) is claimed again and starts over.
    """
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimable = ImportJob.objects.filter(
        pk=job_id, state=ImportState.QUEUED
    ) | ImportJob.objects.filter(pk=job_id, state=ImportState.RUNNING, started_at__lt=stale)
    claimed = ImportJob.objects.filter(pk__in=claimable.values("pk")).update(
        state=ImportState.RUNNING, started_at=timezone.now(), rows_checked=0, rows_saved=0
    )
    return bool(claimed)


def usecase_import_run(*, job_id: int) -> ImportJob | None:
    """Run a queued import: claim it, check every row, write them all or none, record the outcome.

    Claimed with a conditional UPDATE, so two workers never run it together; a job left
    *running* by a worker that died (longer than a task may run) is claimed again and
    starts over — its one write transaction was rolled back with the worker.
    """
    if not import_job_claim(job_id):
        return ImportJob.objects.filter(pk=job_id).defer("content").first()
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    actor = job.created_by
    if actor is None or not actor.is_active:  # whose permissions would the rows be checked by?
        report = ImportReport()
        report.refuse("The person who sent this file can no longer import.")
        return _finish(job, report)
    try:
        table = read_rows(name=job.filename, content=bytes(job.content))
    except ValidationError as error:
        report = ImportReport()
        for message in error.messages:
            report.refuse(message)
        return _finish(job, report)
    ImportJob.objects.filter(pk=job_id).update(rows_total=len(table.rows))
    job.rows_total = len(table.rows)
    with _ProgressWriter(job_id) as progress:
        report = usecase_import_rows(actor=actor, rows=table.rows, progress=progress)
    return _finish(job, report)


@transaction.atomic
def _finish(job: ImportJob, report: ImportReport) -> ImportJob:
    """Record the outcome (and drop the file's bytes), with its audit event."""
    job.state = ImportState.DONE if report.ok else ImportState.FAILED
    job.finished_at = timezone.now()
    job.created, job.updated = report.created, report.updated
    job.errors, job.error_count = report.errors, report.error_count
    if report.ok:
        job.rows_checked = job.rows_saved = job.rows_total
    job.content = b""
    job.save()
    audit_record(
        actor=job.created_by,
        action="usecase.import_finished",
        target=job,
        after={
            "state": job.state,
            "created": job.created,
            "updated": job.updated,
            "error_count": job.error_count,
        },
    )
    return job


class _ProgressWriter:
    """Writes a job's progress on a database connection of its own.

    The import's writes run in one transaction, which no page can see into until it
    commits; a second connection commits each progress update at once. (On SQLite,
    the embedded default, a second writer would wait on the first: progress is then
    written only outside the transaction.)
    """

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.own = (
            connections.create_connection(DEFAULT_DB_ALIAS)
            if connection.vendor == "postgresql"
            else None
        )

    def __enter__(self) -> _ProgressWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.own is not None:
            self.own.close()

    def __call__(self, **counts: int) -> None:
        if self.own is None:
            if not connection.in_atomic_block:
                ImportJob.objects.filter(pk=self.job_id).update(**counts)
            return
        ((column, value),) = counts.items()
        with self.own.cursor() as cursor:  # autocommit: visible at once
            cursor.execute(
                f"UPDATE {ImportJob._meta.db_table} SET {column} = %s WHERE id = %s",  # noqa: S608 - the column is ours
                [value, self.job_id],
            )
