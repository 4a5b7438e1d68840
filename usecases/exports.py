"""CSV and Excel exports of exactly the portfolio rows the filters show."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

from opsai.exports import export_row
from usecases.models import ScoringModel, UseCase

COLUMNS = [
    "id",
    "title",
    "team",
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
]


def portfolio_rows(rows: list[UseCase], *, model: ScoringModel) -> list[list[Any]]:
    """One list of cells per use case, in the order of :data:`COLUMNS`."""
    version = f"v{model.version}" if model.version else "default"
    return [
        [
            row.pk,
            row.title,
            row.team.name,
            row.get_stage_display(),
            row.get_value_bucket_display(),
            row.business_outcome,
            *_score_cells(row),
            "yes" if row.radar_hit else "no",
            "blind" if _hidden(row) else ("yes" if row.quick_win else "no"),
            "yes" if row.political_thriller else "no",
            "blind" if _hidden(row) else ("yes" if row.needs_calibration else "no"),
            None if row.est_hours is None else round(float(row.est_hours)),
            None if row.est_cost is None else round(float(row.est_cost)),
            version,
        ]
        for row in rows
    ]


def _hidden(row: UseCase) -> bool:
    # Set by the portfolio view while scoring is blind for the person exporting.
    return bool(getattr(row, "score_hidden", False))


def _score_cells(row: UseCase) -> list[Any]:
    if _hidden(row):
        return ["blind", row.scorers, "blind"]
    return [None if row.consensus is None else round(row.consensus, 2), row.scorers, row.spread]


def portfolio_export(rows: list[UseCase], *, model: ScoringModel, kind: str) -> HttpResponse:
    """The rows as a CSV or .xlsx download; formula-like text is escaped (``opsai.exports``)."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    cells = [export_row(row) for row in portfolio_rows(rows, model=model)]
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        writer.writerows(["" if c is None else c for c in row] for row in cells)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="portfolio-{stamp}.csv"'
        return response
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Portfolio")
    sheet.append(COLUMNS)
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
