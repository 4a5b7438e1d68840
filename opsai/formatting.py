"""One way to show numbers and money, shared by pages, chart hovers and exports.

The currency is a setting (``OPSAI_CURRENCY``, an ISO 4217 code; the demo keeps
pounds). Amounts are estimates and yearly rates, so they are shown in whole units with
thousands separators: ``1234567.8`` → ``£1,234,568``. Exports carry the plain number
in a column named with the currency code (:func:`money_column`), never the symbol, so
a spreadsheet can add them up.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings

# Symbols for the codes people are likely to set; any other code is shown as "CODE 1,234".
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


def currency_symbol(code: str) -> str:
    """The symbol written before an amount in ``code`` (``"GBP"`` → ``"£"``)."""
    return CURRENCY_SYMBOLS.get(code, f"{code} ")


def currency() -> dict[str, str]:
    """The currency in force: ``{"code": "GBP", "symbol": "£"}`` (``settings.CURRENCY``)."""
    return settings.CURRENCY


def _whole(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return None


def number(value: Any) -> str:
    """``value`` rounded to a whole number with thousands separators (``12345.6`` → ``12,346``).

    Not a number (or ``None``) is shown as an em dash.
    """
    whole = _whole(value)
    return "—" if whole is None else f"{whole:,}"


def money(value: Any) -> str:
    """``value`` as an amount in the configured currency: ``1234567.8`` → ``£1,234,568``."""
    whole = _whole(value)
    if whole is None:
        return "—"
    sign = "-" if whole < 0 else ""
    return f"{sign}{currency()['symbol']}{abs(whole):,}"


def money_column(label: str) -> str:
    """An export column's heading for an amount, naming the currency: ``"cost (GBP)"``."""
    return f"{label} ({currency()['code']})"
