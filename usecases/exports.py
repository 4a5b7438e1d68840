"""CSV and Excel exports of exactly the portfolio rows the filters select (every page of them).

The columns people read hold what the portfolio page shows, written by the same
formatting layer (``opsai.formatting``): the consensus ``3.13`` (half up, as on the
page — never a second rounding rule), the hours ``1,234`` and the amount ``£48,218``,
as text. For sums and sorting in a spreadsheet each figure also has a raw column,
named with ``_raw`` and placed after the people's columns: ``consensus_raw`` (the
unrounded consensus), ``est_hours_raw`` and ``est_cost_raw (GBP)`` (the whole number the
page rounds to, the currency in the heading). A figure the page shows as "not
scored", "blind" or "—" is an empty cell in its raw column.

The rows are read in chunks from a server-side cursor; the CSV streams as it is
written, so a large portfolio never sits in memory whole. The .xlsx file has to be
assembled before it is sent (a zip), but its write-only workbook keeps only the cells.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from opsai import formatting
from opsai.exports import export_row
from usecases.custom_fields import custom_fields, custom_value_text
from usecases.models import CustomField, ScoringModel, UseCase

COLUMNS = [
    "id",
    "title",
    "team",
    "unit",
    "owner",
    "contact name",
    "contact email",
    "stage",
    "value bucket",
    "business outcome",
    "score (consensus, 1-5)",
    "scorers",
    "spread",
    "radar hit",
    "quick win",
    "political thriller",
    "needs calibration",
    "estimated hours saved per year (estimate)",
    "estimated cost saved per year (estimate)",
    "scoring model",
    # The risk classification, as stored (usecases.risk), so a file re-imports as it is.
    "risk_class",
    "high_impact",
    "high_impact_justification",
]
# …then the raw figures behind the formatted ones (see the module doc), then one
# column per custom field, named by its key, its value as a person reads it.
RAW_COLUMNS = ["consensus_raw", "est_hours_raw", "est_cost_raw"]


def columns() -> list[str]:
    """The export's header: the people's columns, then the raw ones (the amount's names
    the currency)."""
    raw = [formatting.money_column(c) if c == "est_cost_raw" else c for c in RAW_COLUMNS]
    return [*COLUMNS, *raw]


# Rows fetched per round trip while exporting.
EXPORT_CHUNK = 500


def export_columns(fields: list[CustomField]) -> list[str]:
    """The header: :func:`columns`, then each custom field's key."""
    return [*columns(), *(field.key for field in fields)]


def portfolio_rows(
    rows: Iterable[UseCase], *, model: ScoringModel, fields: list[CustomField] | None = None
) -> Iterator[list[Any]]:
    """One list of cells per use case, in the order of :func:`export_columns`: figures as the
    page shows them, then their raw values."""
    version = f"v{model.version}" if model.version else "default"
    fields = fields or []
    return (
        [
            row.pk,
            row.title,
            row.team.name,
            row.team.path_label or row.team.name,
            row.owner.get_username() if row.owner else "",
            row.contact_name,
            row.contact_email,
            row.get_stage_display(),
            row.get_value_bucket_display(),
            row.business_outcome,
            *_score_cells(row),
            "yes" if row.radar_hit else "no",
            "blind" if _hidden(row) else ("yes" if row.quick_win else "no"),
            "yes" if row.political_thriller else "no",
            "blind" if _hidden(row) else ("yes" if row.needs_calibration else "no"),
            _shown(formatting.number, row.est_hours),
            _shown(formatting.money, row.est_cost),
            version,
            row.risk_class,
            "" if row.high_impact is None else ("yes" if row.high_impact else "no"),
            row.high_impact_justification,
            None if _hidden(row) else row.consensus,
            formatting.whole(row.est_hours),
            formatting.whole(row.est_cost),
            *_custom_cells(row, fields),
        ]
        for row in rows
    )


def _custom_cells(row: UseCase, fields: list[CustomField]) -> list[str]:
    stored = row.custom if isinstance(row.custom, dict) else {}
    return [custom_value_text(field, stored.get(field.key)) for field in fields]


def _hidden(row: UseCase) -> bool:
    # Set by the portfolio view while scoring is blind for the person exporting.
    return bool(getattr(row, "score_hidden", False))


def _score_cells(row: UseCase) -> list[Any]:
    if _hidden(row):
        return ["blind", row.scorers, "blind"]
    return [_shown(formatting.score, row.consensus), row.scorers, row.spread]


def _shown(format_value: Any, value: Any) -> str | None:
    """``value`` as the page shows it; empty (not "—") where the page has no figure."""
    return None if value is None else format_value(value)


class _Echo:
    """A file-like object whose ``write`` hands the line back, for streaming ``csv.writer``."""

    def write(self, value: str) -> str:
        return value


def portfolio_export(
    rows: QuerySet[UseCase], *, model: ScoringModel, kind: str
) -> HttpResponse | StreamingHttpResponse:
    """The rows as a CSV or .xlsx download; formula-like text is escaped (``opsai.exports``)."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    fields = custom_fields()
    columns = export_columns(fields)
    cells = (
        export_row(row)
        for row in portfolio_rows(
            rows.iterator(chunk_size=EXPORT_CHUNK), model=model, fields=fields
        )
    )
    if kind == "csv":
        writer = csv.writer(_Echo())
        lines = (writer.writerow(["" if c is None else c for c in row]) for row in cells)
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            _chain(writer.writerow(columns), lines), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="portfolio-{stamp}.csv"'
        return response
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Portfolio")
    sheet.append(columns)
    for row in cells:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="portfolio-{stamp}.xlsx"'
    return response


def _chain(first: str, rest: Iterable[str]) -> Iterator[str]:
    yield first
    yield from rest
