"""Onboarding an inventory as a job: upload → mapping → preview → confirm → background import.

An :class:`ImportJob` with a ``source`` holds the file from the upload until the import
is done. Its ``mapping`` holds the confirmed mapping (``columns``, ``values``,
``options``), the ``phase`` it is in and the ``preview``:

- state *mapping*, phase ``mapping``: waiting for the user to confirm the proposal;
- state *queued*/*running*, phase ``check``: the worker checks every row (a file of up
  to ``USECASE_IMPORT_INLINE_ROWS`` rows is checked in the request instead);
- state *mapping*, phase ``preview``: the first rows as opsai will store them and every
  refused row, named by line and column, wait for the user's confirmation;
- state *queued*/*running*, phase ``import``, then *done*: the worker checks the rows
  again (in the one write transaction, with the rows it updates locked) and writes
  every good row in bulk; refused rows are skipped and listed in the error report.

Writes go in bulk (use cases, stage changes, audit events, lanes through
``lifecycle.steps_after_bulk_create``), so the query count does not grow with the rows:
10,000 rows import in seconds.
"""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record, audit_record_many
from opsai import tabular
from opsai.bulk import bulk_insert
from opsai.jobs import enqueue_on_commit
from opsai.permissions import acting_user
from usecases import lifecycle
from usecases.choices import ImportState, Stage
from usecases.imports import (
    _ProgressWriter,
    _Ticker,
    _unreadable,
    import_job_claim,
    import_limits,
)
from usecases.models import PATH_SEPARATOR, ImportJob, ImportMapping, StageChange, Team, UseCase
from usecases.onboarding import DEFAULT_OPTIONS, mapping_propose, targets, value_table
from usecases.onboarding_rows import Problem, RowPlan, check_context, check_row
from usecases.services import INTAKE_FIELDS, usecase_move_stage

PREVIEW_ROWS = 20
# A 10,000-row inventory workbook unpacks to about 10 MB and its header reads in ~2 s.
PEEK_UNPACKED_BYTES = 30 * 1024 * 1024
# Every refused row is reported (the error report is a download), up to this many problems.
PROBLEMS_KEPT = 20_000
TASK = "usecases.tasks.onboarding_run"

logger = logging.getLogger(__name__)


def _read(job_or_name: Any, content: bytes | None = None, head: int | None = None) -> tabular.Table:
    name = job_or_name if isinstance(job_or_name, str) else job_or_name.filename
    data = content if content is not None else bytes(job_or_name.content)
    try:
        table = tabular.read_table(
            data, filename=name, limits=import_limits(), head=head, keep_case=True
        )
    except tabular.TabularError as error:
        raise ValidationError(_unreadable(error)) from error
    if not table.header or not any(table.header):
        raise ValidationError("The file is empty.")
    twice = sorted({c for c in table.header if c and table.header.count(c) > 1})
    if twice:
        raise ValidationError(f"Line 1: columns named twice: {', '.join(twice)}.")
    if not table.rows:
        raise ValidationError("The file has no data rows.")
    return table


# --- Upload and mapping --------------------------------------------------------------------


@transaction.atomic
def onboarding_upload(*, actor: Any, name: str, content: bytes, source: str) -> ImportJob:
    """Keep the file as a job awaiting its mapping, with the proposal (or the source's saved one).

    Reads the header and the first rows only, so the request is short whatever the file.
    """
    source = source.strip()
    if not source:
        raise ValidationError(
            {"source": "Name the source (the tool or register the file comes from)."}
        )
    if len(source) > 100:
        raise ValidationError({"source": "The source's name is longer than 100 characters."})
    if source.lower() == "opsai":
        raise ValidationError({"source": "'opsai' is opsai's own columns: use the import page."})
    if tabular.is_excel(name):
        try:
            unpacked = tabular.excel_unpacked_size(content, limits=import_limits())
        except tabular.TabularError as error:
            raise ValidationError(_unreadable(error)) from error
        if unpacked > PEEK_UNPACKED_BYTES:
            # openpyxl parses a workbook's whole shared-strings table before its first row:
            # past this, reading even the header could outlast a web request.
            raise ValidationError(
                f"This workbook unpacks to {tabular.size_text(unpacked)}, too large to map in "
                "a request: save it as CSV (UTF-8) and upload that."
            )
    table = _read(name, content, head=settings.USECASE_IMPORT_INLINE_ROWS * 5)
    saved = ImportMapping.objects.filter(source=source).first()
    proposal = mapping_propose(table.header, table.rows, saved=saved)
    job = ImportJob(
        created_by=acting_user(actor),
        filename=name[:255],
        content=content,
        source=source,
        state=ImportState.MAPPING,
        rows_total=0 if table.more else len(table.rows),
        mapping={
            "phase": "mapping",
            "header": [c for c in table.header if c],
            "columns": proposal.columns,
            "values": proposal.values,
            "options": proposal.options,
            "samples": proposal.samples,
            "distinct": proposal.distinct,
            "saved": proposal.saved,
            "small": not table.more,
        },
    )
    job.full_clean()
    job.save()
    audit_record(
        actor=actor,
        action="usecase.import_uploaded",
        target=job,
        after={"filename": job.filename, "source": source, "bytes": len(content)},
    )
    return job


def _clean_mapping(
    job: ImportJob,
    actor: Any,
    columns: dict[str, str],
    values: dict[str, dict[str, str]],
    options: dict[str, Any],
) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, Any]]:
    header = job.mapping.get("header", [])
    by_key = {t.key: t for t in targets()}
    problems = []
    clean_columns = {}
    for column in header:
        key = (columns.get(column) or "").strip()
        if key and key not in by_key:
            problems.append(f"{column}: no field is called {tabular.quote(key)}.")
        clean_columns[column] = key
    unknown = set(columns) - set(header)
    if unknown:
        problems.append(f"The file has no column {tabular.quote(sorted(unknown)[0])}.")
    used = [k for k in clean_columns.values() if k]
    twice = sorted({k for k in used if used.count(k) > 1})
    for key in twice:
        names = ", ".join(c for c, k in clean_columns.items() if k == key)
        problems.append(f"{by_key[key].label} is mapped from several columns ({names}): keep one.")
    if not {"title", "source_id", "opsai_id"} & set(used):
        problems.append("Map a column to Title (or to an id, to update use cases).")
    if "unit_path" in used and any(k.startswith("unit_") and k[5:].isdigit() for k in used):
        problems.append("Map either the unit path or the unit levels, not both.")
    clean_options = {**DEFAULT_OPTIONS}
    for name in ("clear_blank", "create_units", "register_as_found"):
        clean_options[name] = bool(options.get(name, DEFAULT_OPTIONS[name]))
    if clean_options["create_units"] and not actor.has_perm("usecases.add_team"):
        problems.append("Only an admin may create organisation units.")
    default_unit = options.get("default_unit")
    if default_unit not in (None, ""):
        text = str(default_unit)
        if not (text.isascii() and text.isdigit() and Team.objects.filter(pk=int(text)).exists()):
            problems.append("The unit for rows without one is not an organisation unit.")
        else:
            clean_options["default_unit"] = int(text)
    if problems:
        raise ValidationError(problems)
    clean_values = {
        key: {str(k)[:500]: str(v)[:100] for k, v in (mapping or {}).items()}
        for key, mapping in values.items()
        if key in used and isinstance(mapping, dict)
    }
    distinct = job.mapping.get("distinct", {})
    for column, key in clean_columns.items():
        target = by_key.get(key)
        if target is not None and target.has_values and key not in clean_values:
            # Mapped on the page rather than proposed: offer its values next time round.
            clean_values[key] = value_table(target, distinct.get(column, []), {})
    return clean_columns, clean_values, clean_options


@transaction.atomic
def onboarding_mapping_set(
    *,
    job: ImportJob,
    actor: Any,
    columns: dict[str, str],
    values: dict[str, dict[str, str]] | None = None,
    options: dict[str, Any] | None = None,
    check: bool = True,
) -> ImportJob:
    """Confirm the mapping (saved for the source's next file) and check every row.

    A small file is checked here; a large one by the worker (phase ``check``). With
    ``check=False`` the rows are checked and imported straight away (the API's one-shot).
    """
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state != ImportState.MAPPING:
        raise ValidationError("This import is past its mapping.")
    clean_columns, clean_values, clean_options = _clean_mapping(
        job, actor, columns, values or {}, options or {}
    )
    job.mapping = {
        **job.mapping,
        "columns": clean_columns,
        "values": clean_values,
        "options": clean_options,
    }
    ImportMapping.objects.update_or_create(
        source=job.source,
        defaults={
            "columns": clean_columns,
            "values": clean_values,
            "options": clean_options,
            "updated_by": acting_user(actor),
        },
    )
    audit_record(
        actor=actor,
        action="usecase.import_mapped",
        target=job,
        after={"source": job.source, "columns": clean_columns, "options": clean_options},
    )
    if not check:
        return _queue(job, "import")
    if job.mapping.get("small"):
        job.mapping["phase"] = "preview"
        table = _read(job)
        job.rows_total = len(table.rows)
        job.mapping["preview"], problems = _check_all(job, actor, table.rows)
        job.errors, job.error_count = problems[:PROBLEMS_KEPT], len(problems)
        job.save()
        return job
    return _queue(job, "check")


def _queue(job: ImportJob, phase: str) -> ImportJob:
    job.mapping = {**job.mapping, "phase": phase}
    job.state = ImportState.QUEUED
    job.rows_checked = job.rows_saved = 0
    job.save()
    enqueue_on_commit(TASK, job.pk)
    return job


@transaction.atomic
def onboarding_confirm(*, job: ImportJob, actor: Any) -> ImportJob:
    """The user saw the preview: import every good row in the background."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state != ImportState.MAPPING or job.mapping.get("phase") != "preview":
        raise ValidationError("Confirm the mapping and look at the preview first.")
    audit_record(
        actor=actor,
        action="usecase.import_queued",
        target=job,
        after={"filename": job.filename, "source": job.source},
    )
    return _queue(job, "import")


@transaction.atomic
def onboarding_remap(*, job: ImportJob, actor: Any) -> ImportJob:
    """Back from the preview to the mapping, to change it."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state != ImportState.MAPPING:
        raise ValidationError("This import is past its mapping.")
    job.mapping = {**job.mapping, "phase": "mapping", "preview": None}
    job.errors, job.error_count = [], 0
    job.save()
    return job


# --- Checking -----------------------------------------------------------------------------


def _check_all(
    job: ImportJob,
    actor: Any,
    rows: list[tuple[int, dict[str, str]]],
    progress: Any = None,
    lock: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Check every row: the preview (counts and the first rows) and every problem."""
    plans, problems = _plans(job, actor, rows, progress, lock)
    return _preview(plans, problems, job), [p.as_dict() for p in problems]


def _plans(
    job: ImportJob,
    actor: Any,
    rows: list[tuple[int, dict[str, str]]],
    progress: Any,
    lock: bool,
) -> tuple[list[RowPlan], list[Problem]]:
    ctx = check_context(actor=actor, source=job.source, mapping=job.mapping, rows=rows, lock=lock)
    tick = _Ticker(progress)
    plans: list[RowPlan] = []
    problems: list[Problem] = []
    for done, (line, row) in enumerate(rows, start=1):
        result = check_row(line, row, ctx)
        if isinstance(result, RowPlan):
            plans.append(result)
        else:
            problems += result
        tick(rows_checked=done)
    tick(rows_checked=len(rows), last=True)
    return plans, problems


def _preview(plans: list[RowPlan], problems: list[Problem], job: ImportJob) -> dict[str, Any]:
    """What the preview page shows: counts, and the first rows as opsai will store them."""
    refused_lines = sorted({p.line for p in problems})
    by_line: dict[int, list[str]] = {}
    for p in problems:
        by_line.setdefault(p.line, []).append(f"{p.field}: {p.problem}")
    shown: list[dict[str, Any]] = []
    labels = dict(Team.objects.values_list("pk", "path_label"))
    for plan in plans:
        if len(shown) >= PREVIEW_ROWS:
            break
        uc = plan.instance
        stage = plan.stages[-1][0] if plan.stages else Stage(uc.stage)
        shown.append(
            {
                "line": plan.line,
                "action": "create" if plan.creating else "update",
                "title": uc.title,
                "unit": PATH_SEPARATOR.join(plan.unit_path) + " (new)"
                if plan.unit_path
                else labels.get(uc.team_id, ""),
                "stage": stage.label,
                "since": plan.stages[-1][1].date().isoformat() if plan.dated else "",
                "registered": plan.registered,
                "external_id": uc.external_id,
                "contact": uc.contact_email or uc.contact_name,
                "risk_class": uc.get_risk_class_display() if uc.risk_class else "",
                "high_impact": {True: "Yes", False: "No", None: ""}[uc.high_impact],
                "draft": plan.creating and not plan.submit,
                "missing": len(plan.missing),
                "changed": sorted(plan.changed),
            }
        )
    creates = [p for p in plans if p.creating]
    return {
        "rows": shown,
        "refused_rows": [
            {"line": line, "problems": by_line[line]} for line in refused_lines[:PREVIEW_ROWS]
        ],
        "create": len(creates),
        "update": sum(1 for p in plans if not p.creating),
        "unchanged": sum(1 for p in plans if not p.creating and not p.changed),
        "refused": len(refused_lines),
        "registered": sum(1 for p in creates if p.registered),
        "drafts": sum(1 for p in creates if not p.submit),
        "incomplete_registered": sum(1 for p in creates if p.registered and p.missing),
        "without_id": sum(1 for p in creates if not p.instance.external_id),
        "new_units": sorted({PATH_SEPARATOR.join(p.unit_path) for p in plans if p.unit_path}),
        "checked_at": timezone.now().isoformat(),
    }


# --- The worker -----------------------------------------------------------------------------


def onboarding_run(*, job_id: int) -> ImportJob | None:
    """Run a queued onboarding job's phase: check every row (the preview) or import them.

    Claimed with a conditional UPDATE, so two workers never run it together; a job left
    running by a dead worker is claimed again (its write transaction rolled back).
    """
    if not import_job_claim(job_id):
        return ImportJob.objects.filter(pk=job_id).defer("content").first()
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    actor = job.created_by
    if actor is None or not actor.is_active or not actor.has_perm("usecases.add_usecase"):
        return _fail(job, "The person who sent this file can no longer import.")
    try:
        table = _read(job)
    except ValidationError as error:
        return _fail(job, " ".join(error.messages))
    ImportJob.objects.filter(pk=job_id).update(rows_total=len(table.rows))
    job.rows_total = len(table.rows)
    try:
        with _ProgressWriter(job_id) as progress:
            if job.mapping.get("phase") == "check":
                preview, problems = _check_all(job, actor, table.rows, progress)
                return _checked(job, preview, problems)
            return _import(job, actor, table.rows, progress)
    except Exception:
        # The write transaction rolled back, so nothing was saved: say so on the job's page
        # rather than leave it "running" until a stale claim is retried. The error itself
        # goes to the log and the outbox job (re-raised).
        logger.exception("onboarding job %s stopped", job_id)
        job = ImportJob.objects.get(pk=job_id)
        job.mapping = {**job.mapping, "phase": "failed"}
        _fail(
            job,
            "The import stopped on an unexpected error and saved nothing. Try again; if it stops again, tell an admin (the error is in the worker's log).",
        )
        raise


@transaction.atomic
def _checked(job: ImportJob, preview: dict[str, Any], problems: list[dict[str, Any]]) -> ImportJob:
    job.state = ImportState.MAPPING
    job.mapping = {**job.mapping, "phase": "preview", "preview": preview}
    job.errors, job.error_count = problems[:PROBLEMS_KEPT], len(problems)
    job.rows_checked = job.rows_total
    job.save()
    return job


@transaction.atomic
def _fail(job: ImportJob, message: str) -> ImportJob:
    job.state = ImportState.FAILED
    job.finished_at = timezone.now()
    job.errors = [{"line": 0, "field": "", "problem": message}]
    job.error_count = 1
    job.content = b""
    job.save()
    audit_record(
        actor=job.created_by,
        action="usecase.import_finished",
        target=job,
        after={"state": job.state, "error_count": 1},
    )
    return job


def _import(
    job: ImportJob, actor: Any, rows: list[tuple[int, dict[str, str]]], progress: Any
) -> ImportJob:
    """Check again and write every good row, in one transaction; refused rows are reported."""
    with transaction.atomic():
        plans, problems = _plans(job, actor, rows, progress, lock=True)
        counts = _write(job, actor, plans)
        progress(rows_saved=len(rows))
        job.state = ImportState.DONE
        job.finished_at = timezone.now()
        job.created, job.updated = counts["created"], counts["updated"]
        job.errors = [p.as_dict() for p in problems[:PROBLEMS_KEPT]]
        job.error_count = len(problems)
        job.rows_checked = job.rows_saved = job.rows_total
        refused = len({p.line for p in problems})
        job.mapping = {**job.mapping, "phase": "done", "result": {**counts, "refused": refused}}
        job.content = b""
        job.save()
        audit_record(
            actor=actor,
            action="usecase.import_finished",
            target=job,
            after={
                "state": job.state,
                "source": job.source,
                **counts,
                "refused": refused,
                "error_count": job.error_count,
            },
        )
    return job


# --- Writing in bulk ---------------------------------------------------------------------------


def _units_create(plans: list[RowPlan], actor: Any) -> None:
    """Create the units rows name that do not exist yet (create_units), then point rows at them."""
    paths = sorted({p.unit_path for p in plans if p.unit_path})
    made: dict[tuple[str, ...], int] = {}
    for path in paths:
        parent: int | None = None
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            if prefix in made:
                parent = made[prefix]
                continue
            unit = Team.objects.filter(parent_id=parent, name__iexact=prefix[-1]).first()
            if unit is None:
                unit = Team(name=prefix[-1][:120], parent_id=parent)
                unit.full_clean()
                unit.save()
                audit_record(
                    actor=actor,
                    action="team.created",
                    target=unit,
                    after={"name": unit.name, "path": unit.path_label},
                )
            made[prefix] = parent = unit.pk
    for plan in plans:
        if plan.unit_path:
            plan.instance.team_id = made[plan.unit_path]


def _snapshot(use_case: UseCase) -> dict[str, Any]:
    values = {
        name: getattr(use_case, f"{name}_id" if name in ("team", "owner") else name)
        for name in INTAKE_FIELDS
    }
    for name in (
        "contact_name",
        "contact_email",
        "risk_class",
        "high_impact",
        "custom",
        "source",
        "external_id",
        "stage",
    ):
        values[name] = getattr(use_case, name)
    # Only what the row set: 10,000 events stay small (a field left out is empty).
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def _write(job: ImportJob, actor: Any, plans: list[RowPlan]) -> dict[str, int]:
    """Write every checked row: creations and updates in bulk, with their audit events."""
    user = acting_user(actor)
    now = timezone.now()
    _units_create(plans, actor)
    creates = [p for p in plans if p.creating]
    note = f"Registered as found (import {job.pk} from {job.source})"
    for plan in creates:
        uc = plan.instance
        uc.submitted_by = user
        uc.stage, uc.stage_entered_at = plan.stages[-1]
        uc.submitted_at = now if plan.submit else None
        if plan.registered:
            uc.registered_at, uc.registered_by = now, user
            uc.registered_from = (
                f"Import {job.pk} from {job.source} ({job.filename}, line {plan.line})"[:300]
            )
    bulk_insert(UseCase, [p.instance for p in creates], ids=True)
    changes = []
    for plan in creates:
        previous = ""
        for stage, when in plan.stages:
            changes.append(
                StageChange(
                    use_case=plan.instance,
                    from_stage=previous,
                    to_stage=stage,
                    changed_by=user,
                    changed_at=when,
                    note=note if plan.registered else "created",
                )
            )
            previous = stage
    bulk_insert(StageChange, changes)
    audit_record_many(
        actor=actor,
        action="usecase.created",
        events=(
            (p.instance, None, {**_snapshot(p.instance), "submitted": p.submit})
            for p in creates
            if not p.registered
        ),
    )
    audit_record_many(
        actor=actor,
        action="usecase.registered",
        events=(
            (
                p.instance,
                None,
                {
                    **_snapshot(p.instance),
                    "registered_from": p.instance.registered_from,
                    "stages": [(s.value, w.isoformat()) for s, w in p.stages],
                },
            )
            for p in creates
            if p.registered
        ),
    )
    lifecycle.steps_after_bulk_create([p.instance for p in creates], actor)
    updated = _write_updates(actor, [p for p in plans if not p.creating and p.changed], now)
    return {
        "created": len(creates),
        "updated": updated,
        "unchanged": sum(1 for p in plans if not p.creating and not p.changed),
        "registered": sum(1 for p in creates if p.registered),
    }


def _write_updates(actor: Any, plans: list[RowPlan], now: Any) -> int:
    """Save changed use cases in bulk; what their changes bring (lanes, reviews) runs per row."""
    if not plans:
        return 0
    fields = sorted({name for p in plans for name in p.changed} | {"updated_at"})
    for plan in plans:
        plan.instance.updated_at = now
    UseCase.objects.bulk_update([p.instance for p in plans], fields, batch_size=1000)
    audit_record_many(
        actor=actor,
        action="usecase.updated",
        events=(
            (
                p.instance,
                {k: p.before[k] for k in sorted(p.changed)},
                {k: getattr(p.instance, k) for k in sorted(p.changed)},
            )
            for p in plans
        ),
    )
    for plan in plans:
        # Every changed field is named (not only intake ones): a lane rule may read any.
        changed = {name.removesuffix("_id") for name in plan.changed}
        use_case = plan.instance
        for follow_on in lifecycle.steps_after_change(use_case, actor, changed):
            use_case = usecase_move_stage(
                use_case=use_case, to_stage=follow_on.to_stage, actor=actor, note=follow_on.note
            )
    return len(plans)


# --- The error report ---------------------------------------------------------------------


def error_report_csv(job: ImportJob) -> str:
    """Every refused row's problems: line, field (the file's column), problem."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "field", "problem"])
    for error in job.errors:
        if isinstance(error, dict):
            row = [error.get("line", ""), error.get("field", ""), error.get("problem", "")]
        else:
            row = ["", "", str(error)]
        writer.writerow([tabular_safe(str(v)) for v in row])
    return buffer.getvalue()


def tabular_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
