"""Read an uploaded table (CSV or Excel) once, with pandas, as text rows with line numbers.

Every importer in opsai (use cases, KPI measurements) reads files through here and
then validates the text itself, so its error messages stay its own. The reader:

* reads every cell as text: CSV with ``dtype=object`` and NA detection off (so
  "NaN", "NULL", "007" and "" stay exactly as written), Excel with
  ``dtype=object`` so each cell keeps its Python value until it is rendered here —
  dates and times as ISO 8601, numbers as ``str()`` gives them;
* takes the first row as the header, stripped and lower-cased;
* gives each later row that has any text as ``(line, {column: text})`` with every
  cell stripped; ``line`` is the line a person sees in the file (the header is
  line 1; a row starts on the line after the last line of the row before, so a
  quoted CSV cell holding a line break counts its lines) or, for Excel, the row
  number on the sheet;
* raises :class:`TabularError` for a file it cannot read, naming the line when
  there is one;
* refuses, before pandas parses anything it need not, a file past its
  :class:`Limits`: more bytes than ``UPLOAD_MAX_BYTES`` (a file's bytes; CSV text
  a caller passes was bounded where it came in); an .xlsx (a zip) whose
  members unpack to more than ``max_unzipped_bytes`` (a zip bomb is refused by its
  directory, never inflated); more rows than ``max_rows`` (pandas is asked for one
  row more than the cap, never for the whole file); a column name longer than
  ``max_header_chars`` or a cell longer than ``max_cell_chars``. Every message is
  short: a quoted value is cut to ``QUOTE_CHARS`` (:func:`quote`), so a small file can
  never make a large answer.

This module sits in the bottom layer: it imports nothing from the apps.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings

from opsai import bounds

# Files with these endings are Excel workbooks (openpyxl reads both); anything else is CSV.
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
# A cell holds at most what a person writes in the longest free-text field
# (bounds.LONG_TEXT_MAX); pandas has no such limit, so it is checked here.
MAX_CELL_CHARS = bounds.LONG_TEXT_MAX
# A column name is a word or two; 200 leaves room for a long custom-field label.
MAX_HEADER_CHARS = 200
# An .xlsx compresses its XML about 5-15x; 100 MiB unpacked is a 10 MiB workbook of
# dense text at least. A zip bomb (a few KiB that unpack to gigabytes) is refused by its
# directory's sizes, which zipfile then holds every member to while reading.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_ZIP_MEMBERS = 1_000
# How much of a value a message quotes: enough to find it in the file.
QUOTE_CHARS = 80
# The C parser's error for a quote that is never closed names the record, counted from 0.
_UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")

Rows = list[tuple[int, dict[str, str]]]


class TabularError(ValueError):
    """Why a file could not be read as a table.

    ``kind`` is one of the constants below, so each importer can word it its own way;
    ``detail`` is the reader's explanation; ``line`` is the line (CSV) or row (Excel)
    at fault, when one is known.
    """

    NOT_UTF8 = "not_utf8"
    BAD_CSV = "bad_csv"
    BAD_EXCEL = "bad_excel"
    # Past one of the Limits; ``detail`` says which, in words an importer can show as is.
    TOO_LARGE = "too_large"

    def __init__(self, kind: str, detail: str = "", *, line: int | None = None) -> None:
        detail = _cut(detail, 300)  # a parser's message may quote a whole cell
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail
        self.line = line


@dataclass(frozen=True)
class Limits:
    """How much one upload may hold; see the module docstring for when each is checked.

    ``max_rows`` counts the records after the header (blank lines and rows too: the
    reader stops after that many, so it never parses past the cap); ``None`` is no cap.
    """

    max_bytes: int
    max_rows: int | None = None
    max_cell_chars: int = MAX_CELL_CHARS
    max_header_chars: int = MAX_HEADER_CHARS
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES

    def describe(self) -> str:
        """The limits in a sentence, for an upload page."""
        rows = f"at most {self.max_rows:,} rows, " if self.max_rows else ""
        return (
            f"Up to {size_text(self.max_bytes)}, {rows}cells of at most "
            f"{self.max_cell_chars:,} characters and column names of at most "
            f"{self.max_header_chars:,}."
        )


def upload_limits(*, max_rows: int | None = None) -> Limits:
    """The limits of an uploaded file: ``UPLOAD_MAX_BYTES`` and the caller's row cap."""
    return Limits(max_bytes=settings.UPLOAD_MAX_BYTES, max_rows=max_rows)


def size_text(size: int) -> str:
    """Bytes as a person reads them: "10 MB", "2.5 MB", "800 KB", "950 bytes" (powers of 1024)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    if size >= 10 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size:,} bytes"


def quote(value: str, *, limit: int = QUOTE_CHARS) -> str:
    """A value quoted for a message, cut to ``limit`` characters: messages stay short."""
    return f"'{_cut(value, limit)}'"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} characters)"


@dataclass
class Table:
    """A file's header (normalised, in file order, blank names kept) and its non-empty rows.

    ``header`` is empty only when the file has no content at all. Each row maps every
    named column to its text (``""`` when the row is short); columns with a blank name
    are left out, and when a name appears twice the later column wins.
    """

    header: list[str] = field(default_factory=list)
    rows: Rows = field(default_factory=list)
    # True when the reader was asked for the first ``head`` records and the file has more.
    more: bool = False


def is_excel(filename: str) -> bool:
    """Whether a file of this name is read as an Excel workbook rather than as CSV."""
    return filename.lower().endswith(EXCEL_SUFFIXES)


def read_table(
    content: bytes,
    *,
    filename: str,
    limits: Limits | None = None,
    head: int | None = None,
    keep_case: bool = False,
) -> Table:
    """Read an uploaded file: an Excel workbook by its name's ending, otherwise CSV.

    ``head``: read only the first ``head`` records after the header, and say in
    ``Table.more`` whether there are others (a cheap look at a large file in a request).
    """
    if is_excel(filename):
        return read_excel(content, limits=limits, head=head, keep_case=keep_case)
    return read_csv(content, limits=limits, head=head, keep_case=keep_case)


def read_csv(
    content: bytes | str,
    *,
    limits: Limits | None = None,
    head: int | None = None,
    keep_case: bool = False,
) -> Table:
    """Read CSV bytes (UTF-8, with or without a byte-order mark) or text into a :class:`Table`.

    ``max_bytes`` is the size of an uploaded file, so it applies to bytes; text is what a
    caller already holds (a body its parser bounded, a payload a job stored after the
    upload was checked — an Excel upload re-encoded as CSV may be larger than the file was).
    """
    limits = limits or upload_limits()
    if not isinstance(content, str):
        _check_bytes(len(content), limits)
    data = _utf8(content)
    if not data.strip():
        return Table()
    # The C parser ends a cell at a NUL byte, silently dropping the rest; the Python
    # engine keeps it, so an importer can name the row ("not text") instead.
    engine = "python" if b"\x00" in data else "c"
    nrows = _records_wanted(limits, head)
    columns = _parse_csv(data, width=_csv_width(data, engine), engine=engine, upto=nrows)
    more = _check_row_count(len(columns[0]), nrows, limits, head)
    if more:
        columns = [column[:-1] for column in columns]
    lines = _csv_lines(columns, data, complete=nrows is None or not more)
    _check_cell_sizes(columns, lines, limits)
    table = _table([[cell.strip() for cell in column] for column in columns], lines, keep_case)
    table.more = more
    return table


def read_excel(
    content: bytes,
    *,
    limits: Limits | None = None,
    head: int | None = None,
    keep_case: bool = False,
) -> Table:
    """Read the first sheet of an .xlsx workbook into a :class:`Table`; lines are sheet rows."""
    limits = limits or upload_limits()
    _check_bytes(len(content), limits)
    _check_zip(content, limits)
    nrows = _records_wanted(limits, head)
    try:
        # dtype=object: keep openpyxl's value per cell (number, date, text) so _excel_text
        # renders it, rather than letting pandas turn dates into "2026-01-01 00:00:00".
        # keep_default_na=False: empty cells are "" and empty rows stay in the frame, so
        # a row's position in it is its row number on the sheet. nrows: openpyxl streams
        # the sheet (read-only mode), so rows past the cap are never parsed.
        frame = pd.read_excel(
            io.BytesIO(content),
            sheet_name=0,
            header=None,
            dtype=object,
            engine="openpyxl",
            keep_default_na=False,
            nrows=nrows,
        )
    except Exception as error:  # openpyxl and zipfile raise many kinds on a file that is not xlsx
        raise TabularError(TabularError.BAD_EXCEL, str(error)) from error
    if frame.empty:
        return Table()
    more = _check_row_count(len(frame), nrows, limits, head)
    if more:
        frame = frame.iloc[:-1]
    columns = [[_excel_text(cell) for cell in frame[label].tolist()] for label in frame.columns]
    lines = range(1, len(frame) + 1)
    _check_cell_sizes(columns, lines, limits)
    table = _table(columns, lines, keep_case)
    table.more = more
    return table


def _check_bytes(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise TabularError(
            TabularError.TOO_LARGE,
            f"the file is {size_text(size)}; the limit is {size_text(limits.max_bytes)}",
        )


def excel_unpacked_size(content: bytes, *, limits: Limits | None = None) -> int:
    """How many bytes an .xlsx's members unpack to, from its zip directory alone.

    Refuses (TabularError) a file over the byte limit, one that is not a zip, and one
    that would unpack past the limit — without unpacking anything.
    """
    limits = limits or upload_limits()
    _check_bytes(len(content), limits)
    return _check_zip(content, limits)


def _check_zip(content: bytes, limits: Limits) -> int:
    """Refuse a workbook whose zip members would unpack past the limit, before unpacking any."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise TabularError(
            TabularError.BAD_EXCEL, f"not an .xlsx workbook ({_cut(str(error), 100)})"
        ) from error
    if len(members) > MAX_ZIP_MEMBERS:
        raise TabularError(
            TabularError.TOO_LARGE,
            f"the workbook holds {len(members):,} parts; the limit is {MAX_ZIP_MEMBERS:,}",
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.max_unzipped_bytes:
        raise TabularError(
            TabularError.TOO_LARGE,
            f"the workbook unpacks to {size_text(unpacked)}; the limit is "
            f"{size_text(limits.max_unzipped_bytes)}",
        )
    return unpacked


def _records_wanted(limits: Limits, head: int | None) -> int | None:
    """How many records (header included) to ask pandas for: one past the cap or the head."""
    caps = [n for n in (limits.max_rows, head) if n is not None]
    return min(caps) + 2 if caps else None


def _check_row_count(records: int, nrows: int | None, limits: Limits, head: int | None) -> bool:
    """Whether there are records past those read; past ``max_rows`` is refused."""
    if nrows is None or records < nrows:
        return False
    if limits.max_rows is not None and (head is None or limits.max_rows <= head):
        raise TabularError(
            TabularError.TOO_LARGE, f"the file has more than {limits.max_rows:,} rows"
        )
    return True


def _utf8(content: bytes | str) -> bytes:
    """The CSV as UTF-8 bytes without a byte-order mark: pandas parses bytes fastest."""
    try:
        if isinstance(content, str):
            return content.removeprefix("\ufeff").encode("utf-8")
        # Decoded only to check it: pandas would not look at the cells it drops.
        content.decode("utf-8-sig")
    except UnicodeError as error:
        raise TabularError(TabularError.NOT_UTF8, str(error)) from error
    return content.removeprefix(codecs.BOM_UTF8)


def _csv_options(engine: str) -> dict[str, Any]:
    """What every CSV read shares: all text, nothing taken for missing, every line a record."""
    return {
        "header": None,
        "dtype": object,  # each cell the str pandas read, unconverted
        "na_filter": False,  # "", "NA" and "NaN" stay text; the importers decide what they mean
        "skip_blank_lines": False,  # blank lines are records, so records map to lines
        "engine": engine,
    }


def _csv_width(data: bytes, engine: str) -> int:
    """How many cells the first record (the header) has; a blank first line counts as one."""
    end = data.find(b"\n")
    first_line = data if end < 0 else data[:end]
    if b'"' not in first_line:  # the usual header: its commas say it, no parse needed
        return first_line.count(b",") + 1
    try:
        first = pd.read_csv(io.BytesIO(data), nrows=1, **_csv_options(engine))
    except pd.errors.ParserError as error:
        raise _parser_error(error, data, width=1, engine=engine) from error
    return max(1, len(first.columns))


def _parse_csv(
    data: bytes, *, width: int, engine: str, nrows: int | None = None, upto: int | None = None
) -> list[list[str]]:
    """The cells of the first ``nrows`` (or ``upto``) records (all by default), header
    included, by column.

    Every record is cut or padded to ``width`` cells. ``nrows`` is for finding the line
    of a parser failure (it raises the parser's own error); ``upto`` is a cap.
    """
    try:
        # names + usecols: a row with more cells than the header is read and its extra
        # cells dropped, as csv.DictReader did, instead of failing the whole file.
        frame = pd.read_csv(
            io.BytesIO(data),
            names=range(width),
            usecols=range(width),
            nrows=nrows if nrows is not None else upto,
            **_csv_options(engine),
        )
    except pd.errors.ParserError as error:
        if nrows is not None:  # already finding the line of a failure: report that one
            raise
        raise _parser_error(error, data, width=width, engine=engine) from error
    if engine == "python":  # it leaves the missing cells of a short row as None
        frame = frame.fillna("")
    # Plain lists from here: the per-cell work below is faster on them than through .str.
    return [frame[label].tolist() for label in frame.columns]


def _parser_error(error: Exception, data: bytes, *, width: int, engine: str) -> TabularError:
    """A pandas parser failure as a TabularError, with its line when the parser names one."""
    unclosed = _UNCLOSED_QUOTE.search(str(error))
    if unclosed is None:
        return TabularError(TabularError.BAD_CSV, str(error))
    # The parser counts records, not lines: the quote opens on the line after the
    # records before it end.
    record = int(unclosed.group(1))
    before = _parse_csv(data, width=width, engine=engine, nrows=record) if record else []
    line = 1 + int(_row_spans(before).sum()) if before else 1
    return TabularError(TabularError.BAD_CSV, "a quoted cell is never closed", line=line)


def _row_spans(columns: list[list[str]]) -> np.ndarray:
    """How many lines each record takes: one, plus the line breaks inside its cells."""
    records = len(columns[0])
    spans = np.ones(records, dtype=np.int64)
    for column in columns:
        if "\n" in "".join(column):  # count cell by cell only in a column that has breaks
            spans += np.fromiter((cell.count("\n") for cell in column), np.int64, records)
    return spans


def _csv_lines(columns: list[list[str]], data: bytes, *, complete: bool = True) -> Sequence[int]:
    """The line each record starts on; the header's is 1.

    ``complete``: the records are the whole file, so counting its line breaks can tell
    whether any cell holds one.
    """
    records = len(columns[0])
    # Each record ends with a line break (the last one may not); any more breaks than
    # that are inside quoted cells, and only then must the cells be counted.
    breaks_in_cells = data.count(b"\n") - (records if data.endswith(b"\n") else records - 1)
    if complete and breaks_in_cells <= 0:
        return range(1, records + 1)
    return np.concatenate(([1], 1 + np.cumsum(_row_spans(columns))[:-1])).tolist()


def _check_cell_sizes(columns: list[list[str]], lines: Sequence[int], limits: Limits) -> None:
    """Refuse a column name or a cell past its limit, naming the line its row starts on."""
    for name in (column[0] for column in columns):
        if len(name.strip()) > limits.max_header_chars:
            raise TabularError(
                TabularError.TOO_LARGE,
                f"a column name is {len(name.strip()):,} characters long ({quote(name.strip(), limit=40)}); "
                f"the limit is {limits.max_header_chars:,}",
                line=1,
            )
    limit = limits.max_cell_chars
    first_too_long = [
        next(index for index, cell in enumerate(column) if len(cell) > limit)
        for column in columns
        if max(map(len, column), default=0) > limit
    ]
    if first_too_long:
        index = min(first_too_long)
        longest = max(len(column[index]) for column in columns)
        raise TabularError(
            TabularError.TOO_LARGE,
            f"a cell is {longest:,} characters long; the limit is {limit:,}",
            line=lines[index],
        )


def _excel_text(value: Any) -> str:
    """A cell's value as text: dates and times as ISO 8601 (as opsai wrote them before)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if value is None or (isinstance(value, float) and value != value):  # None or NaN: empty
        return ""
    return str(value).strip()


def _table(columns: list[list[str]], lines: Sequence[int], keep_case: bool = False) -> Table:
    """Build the Table from stripped cell text by column (header first) and record lines.

    Column names are lower-cased unless ``keep_case`` (another tool's names, shown as written).
    """
    header = [column[0].strip() if keep_case else column[0].strip().lower() for column in columns]
    named = [(name, column[1:]) for name, column in zip(header, columns, strict=True) if name]
    names = [name for name, _ in named]
    blank = ("",) * len(names)  # cells are stripped: a row without text is all ""
    records = zip(*(cells for _, cells in named), strict=True)
    # The hot loop of a 100,000-row upload: the zips are equal by construction, so not strict.
    rows = [
        (line, dict(zip(names, cells, strict=False)))
        for line, cells in zip(lines[1:], records, strict=False)  # no named column: no records
        if cells != blank
    ]
    return Table(header=header, rows=rows)
