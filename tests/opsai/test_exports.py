"""Exports never hand a spreadsheet a formula: the portfolio (CSV, xlsx) and the audit CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
from django.db import transaction
from django.urls import reverse

from audit.services import audit_record
from opsai.exports import export_cell, export_row
from tests.usecases.factories import make_use_case

FORMULAS = ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_text_gets_an_apostrophe(text: str) -> None:
    assert export_cell(text) == "'" + text


def test_plain_text_numbers_and_empty_cells_pass_unchanged() -> None:
    assert export_row(["Refund triage", -5, 2.5, None, "", "a=b"]) == [
        "Refund triage", -5, 2.5, None, "", "a=b",
    ]  # fmt: skip


@pytest.mark.django_db
def test_the_portfolio_exports_escape_a_formula_title(client: Any, ops_lead: Any) -> None:
    make_use_case(ops_lead, title='=HYPERLINK("http://evil","x")')
    client.force_login(ops_lead)
    url = reverse("usecases:portfolio") + "?export="
    content = b"".join(client.get(url + "csv").streaming_content).decode()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[1][1] == '\'=HYPERLINK("http://evil","x")'
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(url + "xlsx").content)).active
    (title,) = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert title == '\'=HYPERLINK("http://evil","x")'


@pytest.mark.django_db
def test_the_audit_csv_escapes_a_formula_ticket(client: Any, admin_user: Any) -> None:
    use_case = make_use_case(admin_user)
    with transaction.atomic():
        audit_record(actor=admin_user, action="test.marker", target=use_case, ticket_id="@cmd")
    client.force_login(admin_user)
    response = client.get(reverse("governance:audit"), {"export": "csv"})
    content = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    (marker,) = [row for row in rows if row["action"] == "test.marker"]
    assert marker["ticket_id"] == "'@cmd"
