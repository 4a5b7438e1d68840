"""The one tabular reader: CSV and Excel as text rows numbered by the line a person sees."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from time import monotonic
from typing import Any

import openpyxl
import pytest

from opsai.tabular import (
    MAX_CELL_CHARS,
    MAX_UNZIPPED_BYTES,
    Limits,
    Table,
    TabularError,
    excel_unpacked_size,
    quote,
    read_csv,
    read_excel,
    read_table,
)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


HUGE = "HUGE-CELL-PLACEHOLDER"


def xlsx_with_huge_cell(rows: list[list[Any]], size: int) -> bytes:
    """A workbook whose cell holding ``HUGE`` holds ``size`` x's instead.

    openpyxl (like Excel) cuts a cell at 32,767 characters when it writes, so the cell
    is put into the sheet's XML by hand, as a hostile file would be made.
    """
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/"):
                data = data.replace(HUGE.encode(), b"x" * size)
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# --- CSV ---------------------------------------------------------------------------------


def test_it_reads_a_csv_as_text_rows_numbered_from_the_header() -> None:
    table = read_csv(b"kpi,timestamp,value\n1,2026-01-01,10\n2,2026-01-02,11\n")
    assert table == Table(
        header=["kpi", "timestamp", "value"],
        rows=[
            (2, {"kpi": "1", "timestamp": "2026-01-01", "value": "10"}),
            (3, {"kpi": "2", "timestamp": "2026-01-02", "value": "11"}),
        ],
    )


def test_it_normalises_the_header_and_strips_every_cell() -> None:
    table = read_csv(b"\xef\xbb\xbf KPI ,TimeStamp\t, Value\n  7 , 2026-01-01 ,\t3.5 \n")
    assert table.header == ["kpi", "timestamp", "value"]  # the byte-order mark is gone too
    assert table.rows == [(2, {"kpi": "7", "timestamp": "2026-01-01", "value": "3.5"})]


def test_it_keeps_every_cell_as_written_text() -> None:
    """No number, date or missing-value guessing: the importers validate the text themselves."""
    table = read_csv("id,value,note\n007,1e400,NaN\n0x1F,NULL,NA\n")
    assert table.rows == [
        (2, {"id": "007", "value": "1e400", "note": "NaN"}),
        (3, {"id": "0x1F", "value": "NULL", "note": "NA"}),
    ]


def test_it_skips_empty_rows_but_keeps_counting_their_lines() -> None:
    table = read_csv("a,b\n1,2\n\n,\n  ,  \n3,4\n")
    assert table.rows == [(2, {"a": "1", "b": "2"}), (6, {"a": "3", "b": "4"})]


def test_a_quoted_cell_with_line_breaks_keeps_the_line_numbers_right() -> None:
    """GIVEN a row whose quoted cell spans three lines
    WHEN the file is read
    THEN that row is numbered by the line it starts on and the rows after it by theirs.
    """
    text = 'title,problem\nFirst,"one\ntwo\nthree"\nSecond,plain\n\nThird,"a\r\nb"\nFourth,x\n'
    table = read_csv(text)
    assert table.rows == [
        (2, {"title": "First", "problem": "one\ntwo\nthree"}),
        (5, {"title": "Second", "problem": "plain"}),
        (7, {"title": "Third", "problem": "a\r\nb"}),
        (9, {"title": "Fourth", "problem": "x"}),
    ]


def test_a_quoted_header_cell_with_a_line_break_counts_too() -> None:
    table = read_csv('"long\nname",b\n1,2\n')
    assert table.header == ["long\nname", "b"]
    assert table.rows == [(3, {"long\nname": "1", "b": "2"})]


def test_short_rows_are_padded_and_extra_cells_dropped() -> None:
    table = read_csv("a,b,c\n1\n1,2,3,4,5\n")
    assert table.rows == [(2, {"a": "1", "b": "", "c": ""}), (3, {"a": "1", "b": "2", "c": "3"})]


def test_unnamed_columns_are_left_out_and_a_doubled_name_keeps_the_later_cell() -> None:
    table = read_csv("title,,Title\nA,x,B\n")
    assert table.header == ["title", "", "title"]  # callers may refuse the doubled name
    assert table.rows == [(2, {"title": "B"})]


def test_a_nul_byte_stays_in_its_cell_for_the_caller_to_name() -> None:
    table = read_csv("kpi,value\nsales\x00,1\n2,3\n")
    assert table.rows == [(2, {"kpi": "sales\x00", "value": "1"}), (3, {"kpi": "2", "value": "3"})]


def test_a_semicolon_separated_file_is_one_column() -> None:
    assert read_csv("kpi;timestamp;value\n1;2026-01-01;3\n").header == ["kpi;timestamp;value"]


@pytest.mark.parametrize("content", [b"", b"\n\n", b"  \r\n", b"\xef\xbb\xbf", ""])
def test_a_file_with_nothing_in_it_has_no_header(content: bytes | str) -> None:
    assert read_csv(content) == Table()


def test_a_header_only_file_has_no_rows() -> None:
    assert read_csv("kpi,timestamp,value\n") == Table(header=["kpi", "timestamp", "value"])


def test_it_refuses_bytes_that_are_not_utf8() -> None:
    with pytest.raises(TabularError) as error:
        read_csv("title\nCafé\n".encode("latin-1"))
    assert error.value.kind == TabularError.NOT_UTF8 and error.value.line is None


def test_it_refuses_an_oversized_cell_naming_its_line() -> None:
    text = 'a,b\n1,"x\ny"\n2,' + "9" * (MAX_CELL_CHARS + 1) + "\n"
    with pytest.raises(TabularError) as error:
        read_csv(text)
    assert (error.value.kind, error.value.line) == (TabularError.TOO_LARGE, 4)
    assert error.value.detail == "a cell is 10,001 characters long; the limit is 10,000"
    assert read_csv("a\n" + "9" * MAX_CELL_CHARS + "\n").rows[0][1]["a"] == "9" * MAX_CELL_CHARS


@pytest.mark.parametrize(
    ("text", "line"),
    [('a,b\n1,2\n3,"never\nclosed\n', 3), ('a,b\n1,"x\ny"\n3,"open\n', 4), ('"a,b\n1,2\n', 1)],
)
def test_a_quote_that_is_never_closed_names_the_line_it_opens_on(text: str, line: int) -> None:
    with pytest.raises(TabularError) as error:
        read_csv(text)
    assert (error.value.kind, error.value.line) == (TabularError.BAD_CSV, line)
    assert error.value.detail == "a quoted cell is never closed"


# --- Excel -------------------------------------------------------------------------------


def test_it_reads_the_first_sheet_of_a_workbook_as_text_by_row_number() -> None:
    content = xlsx_bytes(
        [
            [" KPI", "Timestamp ", "Value", "Note"],
            [5, datetime(2026, 2, 1, 9, 30), 7.5, True],
            [None, None, None, None],  # an empty row is skipped, its number still counts
            [6, date(2026, 2, 2), 2, "  spaced  "],
            [" ", "", None, None],  # blank text is empty too
            [7, "2026-02-03", "oops", time(10, 15)],
        ]
    )
    table = read_excel(content)
    assert table.header == ["kpi", "timestamp", "value", "note"]
    assert table.rows == [
        (2, {"kpi": "5", "timestamp": "2026-02-01T09:30:00", "value": "7.5", "note": "True"}),
        (4, {"kpi": "6", "timestamp": "2026-02-02T00:00:00", "value": "2", "note": "spaced"}),
        (6, {"kpi": "7", "timestamp": "2026-02-03", "value": "oops", "note": "10:15:00"}),
    ]


def test_excel_rows_are_numbered_as_on_the_sheet_when_rows_between_were_never_written() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"], sheet["B1"] = "Title", "Team"
    sheet["A5"], sheet["B5"] = "Invoice matching", "Finance"
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_excel(buffer.getvalue())
    assert table.rows == [(5, {"title": "Invoice matching", "team": "Finance"})]


def test_the_first_row_is_the_header_even_when_it_is_empty() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A3"], sheet["A4"] = "title", "Invoice matching"
    buffer = io.BytesIO()
    book.save(buffer)
    excel = read_excel(buffer.getvalue())
    assert excel.header and not any(excel.header) and excel.rows == []
    assert read_csv("\ntitle\nA\n") == Table(header=[""])  # the same rule as for CSV


def test_an_empty_workbook_has_no_header() -> None:
    assert read_excel(xlsx_bytes([])) == Table()


def test_it_refuses_a_file_that_is_not_a_workbook() -> None:
    with pytest.raises(TabularError) as error:
        read_excel(b"title\nnot a workbook\n")
    assert error.value.kind == TabularError.BAD_EXCEL and "zip" in error.value.detail


def test_read_table_picks_the_reader_by_the_file_name() -> None:
    workbook = xlsx_bytes([["title"], ["From Excel"]])
    assert read_table(workbook, filename="Cases.XLSX").rows == [(2, {"title": "From Excel"})]
    assert read_table(workbook, filename="cases.xlsm").rows == [(2, {"title": "From Excel"})]
    assert read_table(b"title\nFrom CSV\n", filename="cases.csv").rows == [
        (2, {"title": "From CSV"})
    ]


# --- Limits: checked before pandas parses what it need not -----------------------------------


def test_a_file_over_the_byte_limit_is_refused_before_it_is_parsed() -> None:
    limits = Limits(max_bytes=1_000)
    with pytest.raises(TabularError) as error:
        read_csv(b"title\n" + b"x\n" * 600, limits=limits)
    assert error.value.kind == TabularError.TOO_LARGE
    assert error.value.detail == "the file is 1,206 bytes; the limit is 1,000 bytes"
    with pytest.raises(TabularError):
        read_excel(b"PK" + b"\0" * 2_000, limits=limits)
    # text is what the caller already holds (bounded where it came in): no byte cap
    assert len(read_csv("title\n" + "x\n" * 600, limits=limits).rows) == 600


def test_the_default_byte_limit_is_the_setting(settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 50
    with pytest.raises(TabularError) as error:
        read_table(b"title\n" + b"A long enough title\n" * 5, filename="u.csv")
    assert error.value.detail == "the file is 106 bytes; the limit is 50 bytes"


def test_past_max_rows_is_refused_without_parsing_the_rest() -> None:
    """GIVEN a CSV of 20 rows whose line 15 opens a quote that never closes
    WHEN it is read with a cap of 10 rows
    THEN the cap refuses it: pandas never reached the broken line."""
    lines = ["title"] + [f"row {n}" for n in range(2, 15)] + ['"never closed'] + ["x"] * 5
    limits = Limits(max_bytes=10_000, max_rows=10)
    with pytest.raises(TabularError) as error:
        read_csv("\n".join(lines), limits=limits)
    assert (error.value.kind, error.value.detail) == (
        TabularError.TOO_LARGE,
        "the file has more than 10 rows",
    )
    exactly = read_csv("\n".join(["title"] + ["a"] * 10), limits=limits)
    assert len(exactly.rows) == 10 and not exactly.more
    workbook = xlsx_bytes([["title"]] + [[f"r{n}"] for n in range(11)])
    with pytest.raises(TabularError, match="more than 10 rows"):
        read_excel(workbook, limits=limits)
    assert len(read_excel(xlsx_bytes([["title"]] + [["r"]] * 10), limits=limits).rows) == 10


def test_head_reads_only_the_first_rows_and_says_whether_there_are_more() -> None:
    text = "title\n" + "".join(f'"multi\nline {n}"\n' for n in range(10))
    first = read_csv(text, head=3)
    assert first.more and [line for line, _ in first.rows] == [2, 4, 6]
    assert not read_csv(text, head=10).more
    workbook = xlsx_bytes([["title"]] + [[f"r{n}"] for n in range(10)])
    assert read_excel(workbook, head=4).more and len(read_excel(workbook, head=4).rows) == 4
    assert not read_excel(workbook, head=10).more
    # a cap below the head still refuses
    with pytest.raises(TabularError, match="more than 2 rows"):
        read_csv(text, limits=Limits(max_bytes=10_000, max_rows=2), head=5)


def test_a_huge_column_name_is_refused_with_a_short_message() -> None:
    huge = "h" * 10_000_000
    with pytest.raises(TabularError) as error:
        read_csv(f"title,{huge}\nA,B\n", limits=Limits(max_bytes=20_000_000))
    assert (error.value.kind, error.value.line) == (TabularError.TOO_LARGE, 1)
    assert error.value.detail.startswith("a column name is 10,000,000 characters long")
    assert len(str(error.value)) < 300
    workbook = xlsx_with_huge_cell([["title", HUGE], ["A", "B"]], 10_000_000)
    assert len(workbook) < 50_000  # a small file …
    with pytest.raises(TabularError) as error:
        read_excel(workbook)
    assert error.value.line == 1 and len(str(error.value)) < 300  # … a small answer
    assert error.value.detail.startswith("a column name is 10,000,000 characters long")


def test_an_excel_cell_over_the_cell_limit_names_its_row() -> None:
    workbook = xlsx_bytes([["title", "problem"], ["A", "fine"], ["B", "p" * (MAX_CELL_CHARS + 1)]])
    with pytest.raises(TabularError) as error:
        read_excel(workbook)
    assert (error.value.kind, error.value.line) == (TabularError.TOO_LARGE, 3)


def zip_bomb() -> bytes:
    """A real workbook plus one member of zeros that unpacks past MAX_UNZIPPED_BYTES."""
    buffer = io.BytesIO(xlsx_bytes([["title"], ["A"]]))
    chunk = b"\0" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/padding.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(MAX_UNZIPPED_BYTES // len(chunk) + 1):
            member.write(chunk)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_by_its_directory_without_unpacking() -> None:
    bomb = zip_bomb()
    assert len(bomb) < 1_000_000
    started = monotonic()
    with pytest.raises(TabularError) as error:
        read_table(bomb, filename="bomb.xlsx")
    assert monotonic() - started < 0.5
    assert error.value.kind == TabularError.TOO_LARGE
    assert error.value.detail == "the workbook unpacks to 101 MB; the limit is 100 MB"
    with pytest.raises(TabularError, match="unpacks to 101 MB"):
        excel_unpacked_size(bomb)
    workbook = xlsx_bytes([["title"], ["A"]])
    unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(workbook)).infolist())
    assert excel_unpacked_size(workbook) == unpacked


def test_a_quoted_value_is_cut_so_messages_stay_short() -> None:
    assert quote("short") == "'short'"
    long = quote("x" * 5_000)
    assert long.startswith("'xxx") and long.endswith("… (5,000 characters)'") and len(long) < 110
