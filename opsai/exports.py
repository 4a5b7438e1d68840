"""Cells for CSV and Excel exports: text a spreadsheet shows, never a formula it runs.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some spreadsheets skip before reading one of those) is a formula to Excel and
LibreOffice — a use-case title of ``=HYPERLINK(...)`` would run on the reader's machine
(OWASP "CSV injection"). Such text is prefixed with an apostrophe, which spreadsheets
read as "this is text". Numbers, dates and empty cells pass unchanged: ``-5`` as a
number is a number, not a formula.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_cell(value: Any) -> Any:
    """``value`` safe for a spreadsheet cell: formula-like text gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_row(values: Iterable[Any]) -> list[Any]:
    """Each of ``values`` through :func:`export_cell`."""
    return [export_cell(value) for value in values]
