"""Import from CSV and Excel: every row or none, each bad row named by line."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from tests.usecases.factories import make_use_case
from usecases.imports import usecase_import
from usecases.models import Team, UseCase

pytestmark = pytest.mark.django_db

HEADER = "title,team,owner,business_outcome,value_bucket,systems_touched,cases_per_week,rework_share,approvals_needed,money_movement"


@pytest.fixture(autouse=True)
def teams():
    Team.objects.create(name="Finance")
    Team.objects.create(name="Support")


def csv_bytes(*lines):
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def xlsx_bytes(rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_good_csv_creates_every_row(ops_lead):
    report = usecase_import(
        actor=ops_lead,
        name="cases.csv",
        content=csv_bytes(
            'Invoice matching,Finance,ops,Cut matching time by 30%,cost,"erp, finance",400,0.2,2,no',
            "Refund triage,support,,Faster refunds,experience,ticketing,1200,0.15,1,yes",
        ),
    )
    assert report.ok, report.errors
    assert report.created == 2
    invoice = UseCase.objects.get(title="Invoice matching")
    assert invoice.systems_touched == ["erp", "finance"]
    assert invoice.owner == ops_lead
    assert invoice.money_movement is False
    assert UseCase.objects.get(title="Refund triage").money_movement is True
    assert AuditEvent.objects.filter(action="usecase.created").count() == 2


def test_a_bad_csv_saves_nothing_and_names_each_bad_row(ops_lead):
    report = usecase_import(
        actor=ops_lead,
        name="cases.csv",
        content=csv_bytes(
            "Good one,Finance,ops,Outcome,cost,erp,400,0.2,2,no",  # line 2: fine
            "Bad team,Legal,ops,Outcome,cost,erp,400,0.2,2,no",  # line 3
            ",Finance,ops,Outcome,cost,erp,400,0.2,2,no",  # line 4: no title
            "Bad numbers,Finance,nobody,Outcome,gold,mainframe,lots,1.5,2,maybe",  # line 5
        ),
    )
    assert not report.ok
    assert report.created == 0
    assert not UseCase.objects.exists()
    assert not AuditEvent.objects.exists()
    by_line = {error.split(":")[0]: error for error in report.errors}
    assert set(by_line) == {"Line 3", "Line 4", "Line 5"}
    assert "Team: unknown team 'Legal'" in by_line["Line 3"]
    assert "Title is required" in by_line["Line 4"]
    # Each field named by the label the intake form shows, never its raw name.
    for reason in ["Owner: unknown user 'nobody'", "Money movement: 'maybe' is not yes or no",
                   "Value bucket", "Systems touched", "Cases per week",
                   "Share of cases reworked (0–1)"]:  # fmt: skip
        assert reason in by_line["Line 5"], by_line["Line 5"]
    assert "_" not in by_line["Line 5"].replace("'", " "), by_line["Line 5"]


def test_a_cell_with_a_line_break_keeps_the_line_numbers_of_later_rows(ops_lead):
    report = usecase_import(
        actor=ops_lead,
        name="cases.csv",
        content=csv_bytes(
            'Good one,Finance,ops,"Outcome over\ntwo lines",cost,erp,400,0.2,2,no',  # lines 2-3
            "Bad team,Legal,ops,Outcome,cost,erp,400,0.2,2,no",  # line 4
        ),
    )
    assert [error.split(":")[0] for error in report.errors] == ["Line 4"]
    assert "Team: unknown team 'Legal'" in report.errors[0]


def test_a_bad_excel_file_saves_nothing_and_names_each_bad_row(ops_lead):
    content = xlsx_bytes(
        [
            HEADER.split(","),
            ["Fine", "Finance", "ops", "Outcome", "cost", "erp", 400, 0.2, 2, "no"],
            ["Negative", "Finance", "ops", "Outcome", "cost", "erp", -5, 0.2, 2, "no"],
            [None] * 10,  # an empty row is skipped, not an error
            ["Too many rules", "Support", "ops", "Outcome", "cost", "crm", 10, 0.2, "two", "no"],
        ]
    )
    report = usecase_import(actor=ops_lead, name="cases.xlsx", content=content)
    assert not report.ok
    assert [error.split(":")[0] for error in report.errors] == ["Line 3", "Line 5"]
    assert "Cases per week" in report.errors[0]
    assert "Approvals needed" in report.errors[1]
    assert not UseCase.objects.exists()


def test_a_good_excel_file_updates_by_id(ops_lead, admin_user):
    existing = make_use_case(ops_lead)
    content = xlsx_bytes(
        [["id", "approvals_needed", "value_claim"], [existing.pk, 6, "More cash, sooner"]]
    )
    report = usecase_import(actor=admin_user, name="update.xlsx", content=content)
    assert report.ok, report.errors
    assert report.updated == 1
    existing.refresh_from_db()
    assert existing.approvals_needed == 6
    assert existing.value_claim == "More cash, sooner"
    assert existing.title == "Collections outreach"  # absent columns are kept


def test_updating_someone_elses_submitted_use_case_is_a_row_error(ops_lead, make_user):
    existing = make_use_case(ops_lead)
    other = make_user("Ops lead", username="other")
    report = usecase_import(
        actor=other, name="u.csv", content=f"id,approvals_needed\n{existing.pk},9\n".encode()
    )
    assert report.errors == [
        f"Line 2: you may not edit use case {existing.pk} (Collections outreach)."
    ]
    existing.refresh_from_db()
    assert existing.approvals_needed == 1


def test_unknown_columns_and_submit_rows_are_checked(ops_lead):
    report = usecase_import(actor=ops_lead, name="x.csv", content=b"title,colour\nA,red\n")
    assert report.errors == ["Line 1: unknown columns: colour."]
    report = usecase_import(
        actor=ops_lead, name="x.csv", content=b"title,team,submit\nIncomplete,Finance,yes\n"
    )
    assert report.errors[0].startswith("Line 2: ")
    assert "Problem is required to submit" in report.errors[0]


def test_the_import_page_lists_the_bad_rows(client, ops_lead, executive):
    client.force_login(ops_lead)
    upload = SimpleUploadedFile("cases.csv", csv_bytes("Bad team,Legal,ops,O,cost,erp,4,0.2,2,no"))
    response = client.post(reverse("usecases:import"), {"file": upload})
    assert response.status_code == 400
    assert b"Nothing was imported" in response.content
    assert b"Line 2: Team: unknown team" in response.content
    good = SimpleUploadedFile("cases.csv", csv_bytes("Fine,Finance,ops,O,cost,erp,4,0.2,2,no"))
    assert client.post(reverse("usecases:import"), {"file": good}).status_code == 302
    assert UseCase.objects.count() == 1
    client.force_login(executive)
    again = SimpleUploadedFile("cases.csv", csv_bytes("Fine,Finance,ops,O,cost,erp,4,0.2,2,no"))
    assert client.post(reverse("usecases:import"), {"file": again}).status_code == 403


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"id,title\n\xc2\xb2,Renamed\n", "Line 2: id: no use case with id '\u00b2'."),
        (
            b"title,problem\nLong," + b"a" * 200_000 + b"\n",
            "Line 2: a cell is 200,000 characters long; the limit is 10,000.",
        ),
        (b"title,team,title\nA,Finance,B\n", "Line 1: columns named twice: title."),
    ],
    ids=["superscript-id", "oversized-cell", "duplicate-column"],
)
def test_unreadable_input_is_a_named_error_not_a_crash(client, ops_lead, content, error):
    client.force_login(ops_lead)
    page = client.post(reverse("usecases:import"), {"file": SimpleUploadedFile("u.csv", content)})
    assert page.status_code == 400
    assert page.context["report"].errors == [error]
    api = client.post("/api/usecases/import/", {"file": SimpleUploadedFile("u.csv", content)})
    assert api.status_code == 400
    assert api.json() == {"errors": [error]}
    assert not UseCase.objects.exists()
