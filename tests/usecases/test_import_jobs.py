"""Large use-case imports run as a background job with progress; every file is held to limits.

The background tests start a real Celery worker process (``celery_worker``) on the test
database and Redis. The refusals need none: they are answered in the request, quickly
and briefly, whatever the file.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from time import monotonic, sleep
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.opsai.test_tabular import HUGE, xlsx_with_huge_cell
from usecases.choices import ImportState
from usecases.imports import usecase_import_queue, usecase_import_run
from usecases.models import ImportJob, Team, UseCase


@pytest.fixture(autouse=True)
def teams(db: None) -> None:
    Team.objects.create(name="Finance")
    Team.objects.create(name="Support")


def cases_csv(rows: int, *, bad_line: int | None = None) -> bytes:
    """A CSV of ``rows`` good use cases; the row on ``bad_line`` names an unknown team."""
    lines = ["title,team,cases_per_week,money_movement"]
    for line in range(2, rows + 2):
        team = "Legal" if line == bad_line else ("Finance" if line % 2 else "Support")
        lines.append(f"Case {line},{team},{line},no")
    return ("\n".join(lines) + "\n").encode()


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def job_state(pk: int) -> str:
    return ImportJob.objects.values_list("state", flat=True).get(pk=pk)


# --- Through a real worker ------------------------------------------------------------------
# The request imports up to USECASE_IMPORT_INLINE_ROWS rows itself; the tests lower it (in
# the test process, which decides) so small files take the background path and the suite
# stays quick. The worker's limits are the defaults.


def saved_progress(pk: int) -> tuple[str, int, int]:
    return ImportJob.objects.values_list("state", "rows_saved", "rows_total").get(pk=pk)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_large_import_runs_in_the_background_and_its_page_ends_done(
    client: Client, ops_lead: Any, settings: Any, wait_for: Any
) -> None:
    """GIVEN a file of more rows than the request imports itself
    WHEN an ops lead uploads it on the import page
    THEN the page sends them to the job's progress page, which polls every second and
    shows rows_saved moving while the one write transaction is still open (the job
    writes progress on a connection of its own), and ends done, with every use case
    saved and the import on the audit trail."""
    settings.USECASE_IMPORT_INLINE_ROWS = 5
    client.force_login(ops_lead)
    upload = SimpleUploadedFile("cases.csv", cases_csv(150))
    started = monotonic()
    response = client.post(reverse("usecases:import"), {"file": upload})
    assert monotonic() - started < 2  # the request only peeks at the file
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("usecases:import_job", args=[job.pk])

    page = client.get(response.url)
    assert page.status_code == 200
    assert b'hx-trigger="every 1s"' in page.content  # it polls while the job runs
    assert b"<progress" in page.content

    seen = set()
    deadline = monotonic() + 120
    while (progress := saved_progress(job.pk))[0] != ImportState.DONE:
        assert monotonic() < deadline, "import not done in 120 s"
        seen.add(progress)
        if progress[0] == ImportState.RUNNING and 0 < progress[1] < progress[2]:
            assert not UseCase.objects.exists()  # saving, but nothing is visible yet
        sleep(0.05)
    assert any(0 < saved < total for _, saved, total in seen), seen

    partial = client.get(response.url, headers={"HX-Request": "true"})
    assert b"<html" not in partial.content  # htmx gets the card alone
    assert b"Imported 150 rows: 150 created, 0 updated." in partial.content
    assert b"hx-trigger" not in partial.content  # done: the polling stops
    job.refresh_from_db()
    assert (job.rows_total, job.rows_checked, job.rows_saved, job.created) == (150, 150, 150, 150)
    assert bytes(job.content) == b""  # the file is not kept once imported
    assert UseCase.objects.count() == 150
    assert UseCase.objects.get(title="Case 7").cases_per_week == 7
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("usecase.created") == 150
    assert actions.count("usecase.import_queued") == actions.count("usecase.import_finished") == 1


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_bad_row_or_too_many_rows_fail_the_job_and_nothing_is_saved(
    client: Client, ops_lead: Any, settings: Any, wait_for: Any
) -> None:
    settings.USECASE_IMPORT_INLINE_ROWS = 5
    client.force_login(ops_lead)
    upload = SimpleUploadedFile("cases.csv", cases_csv(40, bad_line=38))
    response = client.post(reverse("usecases:import"), {"file": upload})
    bad = ImportJob.objects.get()
    # past the row cap, with a broken line after it that the reader never reaches
    too_many = cases_csv(10_001) + b'"a quote never closed\n' * 1000
    api = APIClient()
    api.force_authenticate(ops_lead)
    answer = api.post(
        "/api/usecases/import/",
        {"file": SimpleUploadedFile("many.csv", too_many)},
        format="multipart",
    )
    assert answer.status_code == 202
    many = ImportJob.objects.get(pk=answer.data["id"])

    for job in (bad, many):
        wait_for(lambda j=job: job_state(j.pk) == ImportState.FAILED, timeout=120, what="failed")
        job.refresh_from_db()
    assert bad.errors == ["Line 38: Team: unknown team 'Legal'."] and bad.error_count == 1
    assert (bad.created, bad.rows_saved) == (0, 0)
    page = client.get(response.url)
    assert b"Nothing was imported" in page.content
    assert b"Line 38: Team: unknown team" in page.content
    assert many.errors == ["The file has more than 10,000 rows."]
    assert many.finished_at - many.started_at < timedelta(seconds=10)
    assert not UseCase.objects.exists()
    assert not AuditEvent.objects.filter(action="usecase.created").exists()
    assert AuditEvent.objects.filter(action="usecase.import_finished").count() == 2


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_api_answers_202_and_the_status_endpoint_is_the_senders_alone(
    ops_lead: Any,
    make_user: Any,
    executive: Any,
    admin_user: Any,
    settings: Any,
    wait_for: Any,
) -> None:
    settings.USECASE_IMPORT_INLINE_ROWS = 5
    api = APIClient()
    api.force_authenticate(ops_lead)
    upload = SimpleUploadedFile("cases.csv", cases_csv(12))
    response = api.post("/api/usecases/import/", {"file": upload}, format="multipart")
    assert response.status_code == 202
    job_id = response.data["id"]
    url = f"/api/usecases/imports/{job_id}/"
    assert response["Location"] == url and response.data["url"] == url
    assert response.data["state"] == "queued"

    wait_for(lambda: api.get(url).data["state"] == "done", timeout=120, what="import done")
    status = api.get(url).data
    assert (status["rows_total"], status["created"], status["errors"]) == (12, 12, [])
    assert status["progress_percent"] == 100

    other = make_user("Ops lead", username="other-ops")
    api.force_authenticate(other)
    assert api.get(url).status_code == 404  # another ops lead's import: not even its name
    assert api.get("/api/usecases/imports/999999/").status_code == 404
    api.force_authenticate(executive)
    assert api.get(url).status_code == 403
    api.force_authenticate(admin_user)
    assert api.get(url).status_code == 200


# --- In the service, without a worker ---------------------------------------------------------


@pytest.mark.django_db
def test_a_job_runs_once_and_one_left_running_by_a_dead_worker_is_run_again(ops_lead: Any) -> None:
    job = usecase_import_queue(actor=ops_lead, name="cases.csv", content=cases_csv(3))
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportState.RUNNING, started_at=timezone.now() - timedelta(minutes=5)
    )
    assert usecase_import_run(job_id=job.pk).state == ImportState.RUNNING  # still its worker's
    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(hours=1))
    assert usecase_import_run(job_id=job.pk).state == ImportState.DONE  # its worker died
    assert usecase_import_run(job_id=job.pk).state == ImportState.DONE  # a second delivery
    assert UseCase.objects.count() == 3
    assert usecase_import_run(job_id=987654) is None


# --- Refused in the request: quickly, with a small answer ------------------------------------


def post_both(client: Client, name: str, content: bytes) -> tuple[Any, Any, float]:
    started = monotonic()
    page = client.post(reverse("usecases:import"), {"file": SimpleUploadedFile(name, content)})
    api = client.post("/api/usecases/import/", {"file": SimpleUploadedFile(name, content)})
    return page, api, monotonic() - started


@pytest.mark.django_db
def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(
    client: Client, ops_lead: Any, settings: Any
) -> None:
    settings.UPLOAD_MAX_BYTES = 10_000
    client.force_login(ops_lead)
    page, api, _ = post_both(client, "big.csv", cases_csv(1_000))
    assert page.status_code == 400
    assert page.context["form"].errors["file"] == ["The file is 23 KB; the limit is 10,000 bytes."]
    assert api.status_code == 400
    assert api.json() == {"file": ["The file is 23 KB; the limit is 10,000 bytes."]}
    assert not ImportJob.objects.exists() and not UseCase.objects.exists()


@pytest.mark.django_db
def test_a_10_mb_column_name_is_refused_with_a_small_answer(client: Client, ops_lead: Any) -> None:
    """GIVEN an 11 KB .xlsx and a 10 MB CSV whose second column name is 10,000,000 characters
    THEN the CSV is refused in the request; the workbook, which unpacks past what a request
    opens, is refused by its job within seconds — each answer a few hundred bytes."""
    client.force_login(ops_lead)
    message = "Line 1: a column name is 10,000,000 characters long ('xxx"
    csv = b"title," + b"x" * 10_000_000 + b"\nA,B\n"
    page, api, took = post_both(client, "header.csv", csv)
    assert page.status_code == 400 and api.status_code == 400
    assert page.context["report"].errors[0].startswith(message)
    assert len(page.content) < 20_000 and len(api.content) < 500
    assert api.json()["errors"][0].startswith(message)
    assert took < 10

    content = xlsx_with_huge_cell([["title", HUGE], ["A", "B"]], 10_000_000)
    assert len(content) < 50_000
    page, api, took = post_both(client, "header.xlsx", content)
    assert (page.status_code, api.status_code) == (302, 202) and took < 2
    for job in ImportJob.objects.all():
        started = monotonic()
        assert usecase_import_run(job_id=job.pk).state == ImportState.FAILED
        assert monotonic() - started < 10
    status = client.get(api.json()["url"])
    assert status.json()["errors"][0].startswith(message) and len(status.content) < 1_000
    assert len(client.get(page.url).content) < 20_000
    assert not UseCase.objects.exists()


@pytest.mark.django_db
def test_a_zip_bomb_is_refused_without_being_unpacked(client: Client, ops_lead: Any) -> None:
    buffer = io.BytesIO(xlsx_bytes([["title"], ["A"]]))
    with (
        zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/media/padding.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(200):
            member.write(b"\0" * (1024 * 1024))
    client.force_login(ops_lead)
    page, api, took = post_both(client, "bomb.xlsx", buffer.getvalue())
    error = "The workbook unpacks to 200 MB; the limit is 100 MB."
    assert page.context["report"].errors == [error]
    assert api.json() == {"errors": [error]}
    assert took < 2
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_workbook_too_large_to_peek_at_is_queued_unread_and_the_job_refuses_it(
    client: Client, ops_lead: Any
) -> None:
    """openpyxl parses a workbook's strings before its first row; past 5 MB unpacked the
    request does not open it at all — the job reads it (and here refuses its cell)."""
    content = xlsx_with_huge_cell([["title", "problem"], ["A", HUGE]], 6_000_000)
    client.force_login(ops_lead)
    started = monotonic()
    response = client.post(
        reverse("usecases:import"), {"file": SimpleUploadedFile("w.xlsx", content)}
    )
    assert monotonic() - started < 1
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.state == ImportState.QUEUED
    job = usecase_import_run(job_id=job.pk)
    assert job.state == ImportState.FAILED
    assert job.errors == ["Line 2: a cell is 6,000,000 characters long; the limit is 10,000."]


@pytest.mark.django_db
def test_a_job_whose_sender_is_gone_fails_and_saves_nothing(ops_lead: Any) -> None:
    job = usecase_import_queue(actor=ops_lead, name="cases.csv", content=cases_csv(3))
    ops_lead.is_active = False
    ops_lead.save()
    job = usecase_import_run(job_id=job.pk)
    assert job.state == ImportState.FAILED
    assert job.errors == ["The person who sent this file can no longer import."]
    assert not UseCase.objects.exists()


@pytest.mark.django_db
def test_a_long_text_cell_is_refused_at_the_long_text_bound(client: Client, ops_lead: Any) -> None:
    """Import cells are held to opsai.bounds.LONG_TEXT_MAX, like every text field."""
    client.force_login(ops_lead)
    content = b"title,team,problem\nLong,Finance," + b"p" * 10_001 + b"\n"
    page, api, _ = post_both(client, "long.csv", content)
    assert page.context["report"].errors == [
        "Line 2: a cell is 10,001 characters long; the limit is 10,000."
    ]
    assert api.status_code == 400
    fits = b"title,team,problem\nLong,Finance," + b"p" * 10_000 + b"\n"
    page, api, _ = post_both(client, "long.csv", fits)
    assert (page.status_code, api.status_code) == (302, 200)
    assert [len(case.problem) for case in UseCase.objects.all()] == [10_000, 10_000]


@pytest.mark.django_db
def test_a_huge_bad_value_is_quoted_short_and_the_list_is_capped(
    client: Client, ops_lead: Any
) -> None:
    lines = ["title,team"] + [f"Case {n},{'L' * 9_000}" for n in range(150)]
    client.force_login(ops_lead)
    page, api, _ = post_both(client, "bad.csv", ("\n".join(lines) + "\n").encode())
    errors = api.json()["errors"]
    assert len(errors) == 150 and all(len(e) < 200 for e in errors)
    assert errors[0].startswith("Line 2: Team: unknown team 'LLLL")
    assert errors[0].endswith("… (9,000 characters)'.")
    assert len(page.content) < 60_000


@pytest.mark.django_db
def test_the_import_page_states_the_limits(client: Client, ops_lead: Any) -> None:
    client.force_login(ops_lead)
    page = client.get(reverse("usecases:import"))
    assert (
        "Up to 10 MB, at most 10,000 rows, cells of at most 10,000 characters and column "
        "names of at most 200." in page.content.decode()
    )
    assert "more than 200 rows is imported in the background" in page.content.decode()


@pytest.mark.django_db
def test_the_progress_page_is_the_senders_and_admins_alone(
    client: Client, ops_lead: Any, make_user: Any, executive: Any, admin_user: Any
) -> None:
    job = usecase_import_queue(actor=ops_lead, name="cases.csv", content=cases_csv(3))
    url = reverse("usecases:import_job", args=[job.pk])
    client.force_login(ops_lead)
    assert client.get(url).status_code == 200
    client.force_login(make_user("Ops lead", username="other-ops"))
    assert client.get(url).status_code == 404
    client.force_login(executive)
    assert client.get(url).status_code == 403
    client.force_login(admin_user)
    assert client.get(url).status_code == 200


# --- In the browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_browser_follows_the_import_to_done(
    page: Any,
    live_server: Any,
    sign_in: Any,
    make_user: Any,
    settings: Any,
    tmp_path: Any,
    celery_worker: Any,
) -> None:
    """GIVEN a file larger than the request imports itself
    WHEN an ops lead uploads it in the browser
    THEN the progress page shows a progress bar that htmx refreshes until it says done."""
    from playwright.sync_api import expect

    settings.USECASE_IMPORT_INLINE_ROWS = 5
    make_user("Ops lead", username="olivia")
    upload = tmp_path / "cases.csv"
    upload.write_bytes(cases_csv(60))
    sign_in(page, "olivia")
    page.goto(f"{live_server.url}{reverse('usecases:import')}")
    expect(page.get_by_test_id("import-limits")).to_contain_text("at most 10,000 rows")
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Import").click()

    card = page.get_by_test_id("import-job")
    expect(card).to_have_attribute("data-state", re.compile("queued|running|done"))
    expect(card).to_have_attribute("data-state", "done", timeout=90_000)
    expect(page.get_by_test_id("import-done")).to_have_text(
        "Imported 60 rows: 60 created, 0 updated."
    )
    page.get_by_role("link", name="Go to the portfolio").click()
    # 60 imported: the first 50 on page 1 (the portfolio shows 50 a page)
    expect(page.get_by_test_id("page-range").first).to_have_text("Showing 1–50 of 60")
    assert UseCase.objects.count() == 60
