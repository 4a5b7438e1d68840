"""Which files a review accepts as evidence: a size cap and a short list of types.

Each type is checked twice: by the name's ending, and by the first bytes of the file
(a signature check), so an executable renamed ``report.pdf`` is refused. The signatures
are few and fixed, so a dozen lines here do what a sniffing library would, without
libmagic or a dependency: PDF, PNG and JPEG by their magic numbers; .xlsx and .docx as
zip files whose directory names the workbook or the document part (read from the zip's
directory only — nothing is unpacked); .txt, .csv and .md as UTF-8 text without NUL
bytes.
"""

from __future__ import annotations

import codecs
import zipfile
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from opsai.tabular import quote, size_text

# How much of a file is read to tell its type: enough for every signature and for a
# fair look at whether a text file is text.
SNIFF_BYTES = 8192


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    # Final only when the sample is the whole file: else it may end inside a character.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError:
        return False
    return True


def _is_office(upload: Any, part: str) -> bool:
    """A zip (an Office Open XML file) whose directory holds ``part``."""
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)
    return "[Content_Types].xml" in names and part in names


# ending -> (what a person calls it, does the file look like one?)
EVIDENCE_TYPES: dict[str, tuple[str, Any]] = {
    "pdf": ("a PDF", lambda head, _: head.startswith(b"%PDF-")),
    "png": ("a PNG image", lambda head, _: head.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("a JPEG image", lambda head, _: head.startswith(b"\xff\xd8\xff")),
    "jpeg": ("a JPEG image", lambda head, _: head.startswith(b"\xff\xd8\xff")),
    "txt": ("text", lambda head, _: _is_text(head)),
    "csv": ("text (CSV)", lambda head, _: _is_text(head)),
    "md": ("text (Markdown)", lambda head, _: _is_text(head)),
    "xlsx": ("an Excel workbook", lambda _, f: _is_office(f, "xl/workbook.xml")),
    "docx": ("a Word document", lambda _, f: _is_office(f, "word/document.xml")),
}
ALLOWED_TEXT = "PDF, PNG, JPEG, TXT, CSV, XLSX, DOCX or MD"


def evidence_limits_text() -> str:
    """The rule in a sentence, for the page."""
    return f"{ALLOWED_TEXT} files, up to {size_text(settings.EVIDENCE_MAX_BYTES)} each."


def evidence_file_problem(upload: Any) -> str:
    """Why this uploaded file is not accepted as evidence, or ``""`` when it is."""
    name = quote(upload.name or "", limit=60)
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size > limit:
        return f"{name} is {size_text(upload.size)}; the limit is {size_text(limit)}."
    ending = (upload.name or "").rsplit(".", 1)[-1].lower() if "." in (upload.name or "") else ""
    if ending not in EVIDENCE_TYPES:
        return f"{name} is not a type accepted as evidence: upload {ALLOWED_TEXT} files."
    what, looks_right = EVIDENCE_TYPES[ending]
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not looks_right(head, upload):
        return f"{name} is named .{ending} but its content is not {what}."
    return ""


def evidence_link_problem(link: str) -> str:
    """Why ``link`` is not accepted as an evidence link, or ``""`` when it is a web address."""
    try:
        URLValidator(schemes=["http", "https"])(link)
    except ValidationError:
        shown = link if len(link) <= 80 else f"{link[:79]}…"
        return f"“{shown}” is not a web address (http or https)."
    return ""
