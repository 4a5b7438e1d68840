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
  there is one.

This module sits in the bottom layer: it imports nothing from the apps.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd

# Files with these endings are Excel workbooks (openpyxl reads both); anything else is CSV.
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
# The csv module's default field size limit, which opsai enforced before it read with
# pandas: no value a person typed is this long, and importers and their users know the
# message. pandas has no such limit, so it is checked here.
MAX_CELL_CHARS = 131_072
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

    def __init__(self, kind: str, detail: str = "", *, line: int | None = None) -> None:
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail
        self.line = line


@dataclass
class Table:
    """A file's header (normalised, in file order, blank names kept) and its non-empty rows.

    ``header`` is empty only when the file has no content at all. Each row maps every
    named column to its text (``""`` when the row is short); columns with a blank name
    are left out, and when a name appears twice the later column wins.
    """

    header: list[str] = field(default_factory=list)
    rows: Rows = field(default_factory=list)


def is_excel(filename: str) -> bool:
    """Whether a file of this name is read as an Excel workbook rather than as CSV."""
    return filename.lower().endswith(EXCEL_SUFFIXES)


def read_table(content: bytes, *, filename: str) -> Table:
    """Read an uploaded file: an Excel workbook by its name's ending, otherwise CSV."""
    return read_excel(content) if is_excel(filename) else read_csv(content)


def read_csv(content: bytes | str) -> Table:
    """Read CSV bytes (UTF-8, with or without a byte-order mark) or text into a :class:`Table`."""
    data = _utf8(content)
    if not data.strip():
        return Table()
    # The C parser ends a cell at a NUL byte, silently dropping the rest; the Python
    # engine keeps it, so an importer can name the row ("not text") instead.
    engine = "python" if b"\x00" in data else "c"
    columns = _parse_csv(data, width=_csv_width(data, engine), engine=engine)
    lines = _csv_lines(columns, data)
    _check_cell_sizes(columns, lines)
    return _table([[cell.strip() for cell in column] for column in columns], lines)


def read_excel(content: bytes) -> Table:
    """Read the first sheet of an .xlsx workbook into a :class:`Table`; lines are sheet rows."""
    try:
        # dtype=object: keep openpyxl's value per cell (number, date, text) so _excel_text
        # renders it, rather than letting pandas turn dates into "2026-01-01 00:00:00".
        # keep_default_na=False: empty cells are "" and empty rows stay in the frame, so
        # a row's position in it is its row number on the sheet.
        frame = pd.read_excel(
            io.BytesIO(content),
            sheet_name=0,
            header=None,
            dtype=object,
            engine="openpyxl",
            keep_default_na=False,
        )
    except Exception as error:  # openpyxl and zipfile raise many kinds on a file that is not xlsx
        raise TabularError(TabularError.BAD_EXCEL, str(error)) from error
    if frame.empty:
        return Table()
    columns = [[_excel_text(cell) for cell in frame[label].tolist()] for label in frame.columns]
    return _table(columns, range(1, len(frame) + 1))


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
    data: bytes, *, width: int, engine: str, nrows: int | None = None
) -> list[list[str]]:
    """The cells of the first ``nrows`` records (all by default), header included, by column.

    Every record is cut or padded to ``width`` cells.
    """
    try:
        # names + usecols: a row with more cells than the header is read and its extra
        # cells dropped, as csv.DictReader did, instead of failing the whole file.
        frame = pd.read_csv(
            io.BytesIO(data),
            names=range(width),
            usecols=range(width),
            nrows=nrows,
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


def _csv_lines(columns: list[list[str]], data: bytes) -> Sequence[int]:
    """The line each record starts on; the header's is 1."""
    records = len(columns[0])
    # Each record ends with a line break (the last one may not); any more breaks than
    # that are inside quoted cells, and only then must the cells be counted.
    breaks_in_cells = data.count(b"\n") - (records if data.endswith(b"\n") else records - 1)
    if breaks_in_cells <= 0:
        return range(1, records + 1)
    return np.concatenate(([1], 1 + np.cumsum(_row_spans(columns))[:-1])).tolist()


def _check_cell_sizes(columns: list[list[str]], lines: Sequence[int]) -> None:
    """Refuse a cell over MAX_CELL_CHARS, naming the line its row starts on."""
    first_too_long = [
        next(index for index, cell in enumerate(column) if len(cell) > MAX_CELL_CHARS)
        for column in columns
        if max(map(len, column), default=0) > MAX_CELL_CHARS
    ]
    if first_too_long:
        raise TabularError(
            TabularError.BAD_CSV,
            f"field larger than field limit ({MAX_CELL_CHARS})",
            line=lines[min(first_too_long)],
        )


def _excel_text(value: Any) -> str:
    """A cell's value as text: dates and times as ISO 8601 (as opsai wrote them before)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if value is None or (isinstance(value, float) and value != value):  # None or NaN: empty
        return ""
    return str(value).strip()


def _table(columns: list[list[str]], lines: Sequence[int]) -> Table:
    """Build the Table from stripped cell text by column (header first) and record lines."""
    header = [column[0].strip().lower() for column in columns]
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
