"""Evidence files: a size cap and a short list of types, checked by name and by content."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from governance.models import EvidenceFile, Review
from governance.services import review_checklist_update
from tests.governance.factories import use_case_like
from tests.usecases.factories import score_for_review
from usecases.services import usecase_move_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(submitter: Any, reviewers: Any, settings: Any, tmp_path: Path) -> Any:
    """A checklist item of an open review; uploads land in a fresh MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path
    use_case = use_case_like("support_triage", submitted_by=submitter, owner=submitter)
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=submitter)
    return Review.objects.get(use_case=use_case, status="open").checklist.get(key="data_handling")


def xlsx() -> bytes:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


GOOD = {
    "policy.pdf": b"%PDF-1.7\n%...\n",
    "diagram.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 20,
    "photo.JPG": b"\xff\xd8\xff\xe0" + b"\0" * 20,
    "notes.txt": "Données en UE seulement.\n".encode(),
    "flows.csv": b"system,region\nCRM,EU\n",
    "runbook.md": b"# Runbook\n",
    "register.xlsx": xlsx(),
    "dpia.docx": docx(),
}


def stored(tmp_path: Path) -> list[Path]:
    return [path for path in tmp_path.rglob("*") if path.is_file()]


def test_every_allowed_type_is_stored(item: Any, submitter: Any, tmp_path: Path) -> None:
    files = [SimpleUploadedFile(name, content) for name, content in GOOD.items()]
    review_checklist_update(item=item, actor=submitter, answer="EU only", files=files)
    assert EvidenceFile.objects.filter(item=item).count() == len(GOOD)
    assert len(stored(tmp_path)) == len(GOOD)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tool.exe", b"MZ\x90\x00", "'tool.exe' is not a type accepted as evidence"),
        ("no-ending", b"hello", "'no-ending' is not a type accepted as evidence"),
        ("report.pdf", b"MZ\x90\x00 an executable", "'report.pdf' is named .pdf but its content is not a PDF"),
        ("notes.txt", b"\x00\x01\x02binary", "'notes.txt' is named .txt but its content is not text"),
        ("latin.csv", "café".encode("latin-1"), "'latin.csv' is named .csv but its content is not text (CSV)"),
        ("sheet.xlsx", docx(), "'sheet.xlsx' is named .xlsx but its content is not an Excel workbook"),
        ("letter.docx", b"PK\x03\x04 broken", "'letter.docx' is named .docx but its content is not a Word document"),
    ],
)  # fmt: skip
def test_a_file_of_another_type_is_refused_naming_the_field_and_the_file(
    item: Any, submitter: Any, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    """A good file beside the bad one is not stored either: every file is checked first."""
    files = [SimpleUploadedFile("fine.pdf", GOOD["policy.pdf"]), SimpleUploadedFile(name, content)]
    with pytest.raises(ValidationError) as error:
        review_checklist_update(item=item, actor=submitter, answer="EU only", files=files)
    (problem,) = error.value.message_dict["files"]
    assert problem.startswith(message)
    assert not EvidenceFile.objects.exists() and stored(tmp_path) == []
    assert not AuditEvent.objects.filter(action="review.checklist_updated").exists()


def test_a_file_over_the_size_cap_is_refused(
    item: Any, submitter: Any, settings: Any, tmp_path: Path
) -> None:
    settings.EVIDENCE_MAX_BYTES = 20 * 1024
    big = SimpleUploadedFile("scan.pdf", b"%PDF-1.7\n" + b"0" * (25 * 1024))
    with pytest.raises(ValidationError) as error:
        review_checklist_update(item=item, actor=submitter, answer="x", files=[big])
    assert error.value.message_dict == {"files": ["'scan.pdf' is 25 KB; the limit is 20 KB."]}
    assert stored(tmp_path) == []
    fits = SimpleUploadedFile("scan.pdf", b"%PDF-1.7\n" + b"0" * (19 * 1024))
    review_checklist_update(item=item, actor=submitter, answer="x", files=[fits])
    assert len(stored(tmp_path)) == 1


def test_the_page_states_the_rule_and_refuses_with_the_field_named(
    client: Any, item: Any, submitter: Any, tmp_path: Path
) -> None:
    client.force_login(submitter)
    review_url = reverse("governance:review", args=[item.review_id])
    page = client.get(review_url).content.decode()
    assert "PDF, PNG, JPEG, TXT, CSV, XLSX, DOCX or MD files, up to 20 MB each." in page
    url = reverse("governance:review_checklist", args=[item.review_id, item.pk])
    prefix = f"item{item.pk}"
    response = client.post(
        url,
        {
            f"{prefix}-answer": "EU only",
            f"{prefix}-files": [SimpleUploadedFile("payload.exe", b"MZ\x90\x00")],
        },
    )
    assert response.status_code == 302
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("Data handling: Evidence files: 'payload.exe' is not a type")
    assert stored(tmp_path) == [] and not EvidenceFile.objects.exists()
    item.refresh_from_db()
    assert item.answer == ""  # nothing of the refused form was saved
    good = client.post(
        url,
        {
            f"{prefix}-answer": "EU only",
            f"{prefix}-files": [SimpleUploadedFile("notes.md", b"# EU only\n")],
        },
    )
    assert good.status_code == 302
    assert EvidenceFile.objects.filter(item=item).count() == 1
