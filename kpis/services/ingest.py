"""Measurement ingest: parse rows (each bad one named by line), upsert, and refresh the touched stacks; large uploads go to a background job with progress."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC as dt_utc
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from kpis.choices import BatchSource, BatchStatus
from kpis.models import KPI, IngestBatch, Measurement
from opsai import bounds, tabular
from opsai.jobs import enqueue_on_commit
from opsai.permissions import acting_user

# Uploads with more rows than this are processed by a background job with progress.
BACKGROUND_INGEST_ROWS = 10_000
# The bound every number that comes in shares (see opsai.bounds, its one owner).
MAX_ABS_VALUE = bounds.MAX_ABS_VALUE
# "1,234,567.5": commas only as thousands separators. "12,5" is a decimal comma, not 125.
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


@dataclass
class ParsedRows:
    """Rows that parsed cleanly (kpi id, timestamp, value) and the errors of those that did not."""

    rows: list[tuple[int, datetime, float]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


def _parse_timestamp(raw: str) -> datetime:
    """An ISO 8601 date or date-time as an aware datetime; naive ones are UTC."""
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt_utc)
    return value


def _cell(value: Any) -> str:
    """A record's value as stripped text: files arrive as text, JSON may send numbers or null."""
    return "" if value is None else str(value).strip()


def _parse_value(raw: str) -> float:
    """A finite number within ±MAX_ABS_VALUE; ValueError says why not."""
    text = raw.strip()
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise ValueError(
                f"value {raw!r} is not a number (use a dot for decimals; commas only between thousands)"
            )
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"value {raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"value {raw!r} is not a number")
    if abs(value) > MAX_ABS_VALUE:
        raise ValueError(f"value {raw!r} is too large (the limit is ±{MAX_ABS_VALUE:.0e})")
    return value


def measurements_parse(
    records: Iterable[tuple[int, dict[str, Any]]],
    *,
    default_kpi: KPI | None = None,
    seen: dict[tuple[int, datetime], int] | None = None,
) -> ParsedRows:
    """Validate ``(line, {kpi, timestamp, value})`` records; every bad row gets a line and reason.

    ``kpi`` is a KPI id (or a KPI name that is unique); with ``default_kpi`` the
    column may be left out. Timestamps are ISO 8601; naive ones are UTC; none may
    lie in the future. Two rows for the same KPI and timestamp in one batch are an
    error (which value was meant?); ``seen`` carries the rows already read when a
    batch is parsed in chunks.
    """
    parsed = ParsedRows()
    now = timezone.now() + bounds.FUTURE_SKEW  # clock skew of the sender
    pending: list[tuple[int, str, datetime, float]] = []
    for line, record in records:
        parsed.total += 1
        row = _measurement_row(record, default_kpi=default_kpi, latest=now)
        if isinstance(row, str):
            parsed.errors.append({"line": line, "reason": row})
        else:
            pending.append((line, *row))
    _resolve_kpis(pending, parsed, seen={} if seen is None else seen)
    parsed.errors.sort(key=lambda error: error["line"])
    return parsed


def _measurement_row(
    record: dict[str, Any], *, default_kpi: KPI | None, latest: datetime
) -> tuple[str, datetime, float] | str:
    """(raw KPI, timestamp, value) of one record, or why it is not a measurement."""
    raw_kpi = _cell(record.get("kpi")) or (str(default_kpi.pk) if default_kpi else "")
    raw_ts = _cell(record.get("timestamp"))
    raw_value = _cell(record.get("value"))
    missing = [
        name
        for name, raw in (("kpi", raw_kpi), ("timestamp", raw_ts), ("value", raw_value))
        if not raw
    ]
    if missing:
        return f"missing {', '.join(missing)}"
    if "\x00" in raw_kpi + raw_ts + raw_value:
        # PostgreSQL cannot even compare such text; a NUL usually means a binary file.
        return "contains a NUL byte (not text)"
    try:
        timestamp = _parse_timestamp(raw_ts)
    except (ValueError, OverflowError):
        return f"timestamp {raw_ts!r} is not a date (use YYYY-MM-DD)"
    try:
        # In UTC from here on, and within 1970 … now + skew: a row dated 0001-01-01 once
        # broke its KPI's pages and every snapshot refresh (pandas cannot hold it).
        timestamp = bounds.instant_utc(timestamp, latest=latest)
    except ValueError as error:
        return f"timestamp {raw_ts} {error}"
    try:
        value = _parse_value(raw_value)
    except ValueError as error:
        return str(error)
    return raw_kpi, timestamp, value


def _resolve_kpis(
    pending: list[tuple[int, str, datetime, float]],
    parsed: ParsedRows,
    *,
    seen: dict[tuple[int, datetime], int],
) -> None:
    """Match each row's KPI (id, or a unique name) in two queries; refuse doubled rows."""
    # Ids longer than a bigint are not ids at all: treat them as (unknown) names.
    ids = {raw for _, raw, _, _ in pending if raw.isdigit() and len(raw) < 19}
    names = {raw for _, raw, _, _ in pending if raw not in ids}
    known_ids = {
        str(pk)
        for pk in KPI.objects.filter(pk__in=[int(i) for i in ids]).values_list("pk", flat=True)
    }
    by_name: dict[str, list[int]] = {}
    if names:
        for pk, name in KPI.objects.filter(name__in=names).values_list("pk", "name"):
            by_name.setdefault(name, []).append(pk)
    for line, raw_kpi, timestamp, value in pending:
        if raw_kpi in known_ids:
            kpi_id = int(raw_kpi)
        elif len(by_name.get(raw_kpi, [])) == 1:
            kpi_id = by_name[raw_kpi][0]
        elif raw_kpi in by_name:
            parsed.errors.append(
                {"line": line, "reason": f"KPI name {raw_kpi!r} matches several KPIs; use its id"}
            )
            continue
        else:
            parsed.errors.append({"line": line, "reason": f"unknown KPI {raw_kpi!r}"})
            continue
        first = seen.setdefault((kpi_id, timestamp), line)
        if first != line:
            parsed.errors.append(
                {"line": line, "reason": f"same KPI and timestamp as line {first}; send one value"}
            )
            continue
        parsed.rows.append((kpi_id, timestamp, value))


def csv_records(text: str) -> list[tuple[int, dict[str, str]]]:
    """Read CSV text with a header row (kpi, timestamp, value); the header is line 1."""
    try:
        table = tabular.read_csv(text)
    except tabular.TabularError as error:
        where = f"Line {error.line}: not" if error.line else "Not"
        raise ValidationError({"file": f"{where} readable as CSV ({error.detail})."}) from error
    _check_measurement_header(table.header, csv_text=text)
    return table.rows


def excel_records(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """Read the first sheet of an .xlsx workbook with the same columns as the CSV."""
    try:
        table = tabular.read_excel(content)
    except tabular.TabularError as error:
        raise ValidationError({"file": f"Could not read the Excel file: {error.detail}"}) from error
    _check_measurement_header(table.header)
    return table.rows


def _check_measurement_header(header: list[str], *, csv_text: str = "") -> None:
    """Refuse a file whose first row does not name the timestamp and value columns."""
    if "timestamp" not in header or "value" not in header:
        message = "The first row must name the columns: kpi, timestamp, value."
        first = csv_text.split("\n", 1)[0]
        if ";" in first or "\t" in first:
            # Excel in many European locales saves "CSV" with semicolons.
            message += " Separate the columns with commas, not semicolons or tabs."
        raise ValidationError({"file": message})


def measurements_write(rows: list[tuple[int, datetime, float]], *, batch: IngestBatch) -> None:
    """Upsert rows: one value per KPI per timestamp; a re-sent timestamp updates the value."""
    # measurements_parse refuses two rows for one KPI and timestamp, so keys are unique.
    latest = {(kpi_id, ts): value for kpi_id, ts, value in rows}
    if connection.vendor == "postgresql":
        # COPY into a temporary table, then one INSERT … ON CONFLICT: ~10x the rate of
        # INSERT statements, which is what makes 20,000+ measurements/s possible.
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS kpis_measurement_load "
                "(kpi_id bigint, timestamp timestamptz, value double precision) ON COMMIT DELETE ROWS"
            )
            with cursor.cursor.copy(
                "COPY kpis_measurement_load (kpi_id, timestamp, value) FROM STDIN"
            ) as copy:
                for (kpi_id, ts), value in latest.items():
                    copy.write_row((kpi_id, ts, value))
            cursor.execute(
                "INSERT INTO kpis_measurement (kpi_id, timestamp, value, source, batch_id) "
                "SELECT kpi_id, timestamp, value, %s, %s FROM kpis_measurement_load "
                "ON CONFLICT (kpi_id, timestamp) DO UPDATE SET value = EXCLUDED.value, "
                "source = EXCLUDED.source, batch_id = EXCLUDED.batch_id",
                [batch.source, batch.pk],
            )
            cursor.execute("TRUNCATE kpis_measurement_load")
        return
    Measurement.objects.bulk_create(
        [
            Measurement(kpi_id=kpi_id, timestamp=ts, value=value, source=batch.source, batch=batch)
            for (kpi_id, ts), value in latest.items()
        ],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["kpi", "timestamp"],
        update_fields=["value", "source", "batch"],
    )


def measurements_ingest(
    *,
    actor: Any,
    source: str,
    records: list[tuple[int, dict[str, Any]]],
    default_kpi: KPI | None = None,
    filename: str = "",
) -> IngestBatch:
    """Validate and save one batch of measurements, all or nothing.

    If any row is bad, nothing is saved and the batch records every bad row with its
    line number and reason (status ``rejected``). Otherwise every row is upserted,
    the batch is ``saved`` and the touched KPIs' snapshots are refreshed once the
    transaction commits. The batch itself is always recorded, with an audit event.
    Large uploads go through ``measurement_batch_queue`` and ``kpis.services.jobs``.
    """
    seen: dict[tuple[int, datetime], int] = {}
    parsed = measurements_parse(records, default_kpi=default_kpi, seen=seen)
    parsed.errors = sorted(parsed.errors + ingest_refusals(actor, seen), key=_line)
    with transaction.atomic():
        batch = IngestBatch(source=source, filename=filename[:255])
        batch.created_by = acting_user(actor)
        batch.rows_total = parsed.total
        batch.rows_processed = parsed.total
        batch.errors = parsed.errors[:500]  # enough to fix a file; the count says the rest
        batch.finished_at = timezone.now()
        batch.payload = ""
        if parsed.errors or not parsed.rows:
            batch.status = BatchStatus.REJECTED
            batch.rows_accepted = 0
            batch.rows_rejected = len(parsed.errors)
            if not parsed.errors:
                batch.errors = [{"line": 0, "reason": "no rows to import"}]
            batch.save()
        else:
            batch.status = BatchStatus.SAVED
            batch.rows_accepted = batch.rows_saved = len(parsed.rows)
            batch.rows_rejected = 0
            batch.save()
            measurements_write(parsed.rows, batch=batch)
            kpi_ids = sorted({kpi_id for kpi_id, _, _ in parsed.rows})
            _enqueue_refresh(kpi_ids)
        audit_record(
            actor=actor,
            action="kpi.measurements_ingested",
            target=batch,
            after={
                "source": source,
                "status": batch.status,
                "rows_accepted": batch.rows_accepted,
                "rows_rejected": batch.rows_rejected,
            },
        )
    return batch


def ingest_refusals(actor: Any, seen: dict[tuple[int, datetime], int]) -> list[dict[str, Any]]:
    """One error per KPI of the batch the actor may not send measurements into (the
    ``kpis.ingest`` rule: not its owner, not of its team, not an admin), at its first line.

    ``seen`` maps each parsed row's (KPI id, timestamp) to its line. A job acting for
    nobody (``actor`` not a signed-in user) is not refused here.
    """
    user = acting_user(actor)
    if user is None:
        return []
    first_line: dict[int, int] = {}
    for (kpi_id, _), line in seen.items():
        first_line[kpi_id] = min(line, first_line.get(kpi_id, line))
    kpis = KPI.objects.filter(pk__in=first_line).select_related("use_case__team")
    return [
        {
            "line": first_line[kpi.pk],
            "reason": f"you may not send measurements into KPI {kpi.pk} “{kpi.name}”: "
            "only its owner, its use case's team and admins may",
        }
        # A KPI of a draft the actor may not see reads as unknown, as a missing id does.
        if user.has_perm("usecases.view_usecase", kpi.use_case)
        else {"line": first_line[kpi.pk], "reason": f"unknown KPI {str(kpi.pk)!r}"}
        for kpi in kpis
        if not user.has_perm("kpis.ingest", kpi)
    ]


def _line(error: dict[str, Any]) -> int:
    return error["line"]


def _enqueue_refresh(kpi_ids: list[int]) -> None:
    enqueue_on_commit("kpis.tasks.refresh_snapshots", kpi_ids=kpi_ids)


@transaction.atomic
def measurement_batch_queue(
    *, actor: Any, source: str, payload: str, filename: str, rows: int
) -> IngestBatch:
    """Store a large upload and hand it to a background job; the page follows its progress."""

    batch = IngestBatch(
        source=source,
        filename=filename[:255],
        created_by=acting_user(actor),
        status=BatchStatus.QUEUED,
        rows_total=rows,
        payload=payload,
    )
    batch.full_clean()
    batch.save()
    audit_record(
        actor=actor,
        action="kpi.measurements_queued",
        target=batch,
        after={"source": source, "rows": rows, "filename": filename},
    )
    enqueue_on_commit("kpis.tasks.process_ingest_batch", batch.pk)
    return batch


def measurements_upload(
    *, actor: Any, filename: str, content: bytes, default_kpi: KPI | None = None
) -> IngestBatch:
    """Ingest an uploaded CSV or Excel file; over 10,000 rows it runs in the background."""
    is_excel = tabular.is_excel(filename)
    if is_excel:
        records = excel_records(content)
        source = BatchSource.EXCEL
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationError({"file": "The file is not UTF-8 text (CSV) or .xlsx."}) from error
        records = csv_records(text)
        source = BatchSource.CSV
    if len(records) > BACKGROUND_INGEST_ROWS:
        # Excel is re-encoded as CSV so the job has one format to read.
        payload = _records_to_csv(records, default_kpi) if is_excel or default_kpi else text
        return measurement_batch_queue(
            actor=actor, source=source, payload=payload, filename=filename, rows=len(records)
        )
    return measurements_ingest(
        actor=actor, source=source, records=records, default_kpi=default_kpi, filename=filename
    )


def _records_to_csv(records: list[tuple[int, dict[str, Any]]], default_kpi: KPI | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kpi", "timestamp", "value"])
    for _, record in records:
        kpi = _cell(record.get("kpi")) or (str(default_kpi.pk) if default_kpi else "")
        writer.writerow([kpi, _cell(record.get("timestamp")), _cell(record.get("value"))])
    return out.getvalue()


def measurement_record(*, actor: Any, kpi: KPI, timestamp: datetime, value: float) -> IngestBatch:
    """Enter one value from the form (a batch of one row)."""
    return measurements_ingest(
        actor=actor,
        source=BatchSource.FORM,
        records=[(1, {"kpi": kpi.pk, "timestamp": timestamp.isoformat(), "value": value})],
    )
