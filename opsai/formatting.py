"""One way to show numbers, money, dates and durations, shared by pages, chart hovers and exports.

Every figure a person reads goes through a function here — the template filters in
``opsai/templatetags/opsai.py`` are one-line wrappers, chart hovers call them while the
figure is built, and the CSV/Excel exports write their result into the column people
read — so a value shows the same on the page, in a hover and in a download.

The rules:

- **Rounding** is half up on the decimal value (``3.125`` → ``3.13``, never the
  banker's or binary-float ``3.12`` of Python's ``round``). A float is first read at
  nine decimals, so arithmetic noise (``3.1249999999999996`` from a weighted mean that is
  3.125 on paper) rounds as the value it stands for.
- **Scores** (1–5 consensus, means, weighted sheets): two decimals, ``3.13``.
- **Money** is in the configured currency (``OPSAI_CURRENCY``, an ISO 4217 code; the
  demo keeps pounds), whole units with thousands separators: ``1234567.8`` →
  ``£1,234,568``. Exports add a plain-number column named with the code
  (:func:`money_column`) so a spreadsheet can add them up.
- **Numbers and counts** carry thousands separators (``12,346``); **percentages** come
  either as a percentage (``12.3`` → ``12.3%``) or as a share (``0.1`` → ``10%``).
- **Dates** are ``28 Nov 2026`` and **date-times** ``28 Nov 2026, 17:01`` in the
  server's time zone (``TIME_ZONE``) on a 24-hour clock — never Django's default
  ``5:01 p.m.``, whose full stop doubled up with the sentence's. Machine dates (URL
  arguments, file names) stay ISO and are not this module's business.
- **Durations** are ``3 days``, ``2 h 5 min``, ``5 min`` or ``under a minute``.
- **Counted nouns** agree with the count: ``1 row``, ``2 rows``, ``1,024 rows``.

Anything that is not a value (``None``, ``""``, text that is not a number) is shown as
an em dash, so a missing figure is visible rather than a ``None`` or a blank.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone

MISSING = "—"

# Symbols for the codes people are likely to set; any other code is shown as "CODE 1,234".
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "INR": "₹", "CHF": "CHF "}

# A float is read at this many decimals before rounding for display (see the module doc).
_NOISE = Decimal("1e-9")

SCORE_PLACES = 2

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def currency_symbol(code: str) -> str:
    """The symbol written before an amount in ``code`` (``"GBP"`` → ``"£"``)."""
    return CURRENCY_SYMBOLS.get(code, f"{code} ")


def currency() -> dict[str, str]:
    """The currency in force: ``{"code": "GBP", "symbol": "£"}`` (``settings.CURRENCY``)."""
    return settings.CURRENCY


# --- Numbers -------------------------------------------------------------------------------


def rounded(value: Any, places: int = 0) -> Decimal | None:
    """``value`` as a Decimal rounded half up to ``places`` decimals; ``None`` if not a number.

    The one rounding rule of everything shown (see the module doc on float noise).
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        exact = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not exact.is_finite():
        return None
    if exact.as_tuple().exponent < -9:  # type: ignore[operator]
        exact = exact.quantize(_NOISE, rounding=ROUND_HALF_UP)
    quantum = Decimal(1).scaleb(-places)
    result = exact.quantize(quantum, rounding=ROUND_HALF_UP)
    return result + 0  # -0.00 → 0.00: a rounded-away minus is not shown


def number(value: Any, places: int = 0, *, signed: bool = False) -> str:
    """``value`` rounded half up to ``places`` decimals with thousands separators.

    ``12345.6`` → ``12,346``; ``number(1234.5, 2)`` → ``1,234.50``; ``signed`` writes a
    ``+`` before a positive value (a change: ``+3.20``).
    """
    result = rounded(value, places)
    if result is None:
        return MISSING
    text = f"{result:,.{places}f}"
    return f"+{text}" if signed and result > 0 else text


def score(value: Any) -> str:
    """A score on the 1–5 scale, two decimals half up: ``3.125`` → ``3.13``."""
    return number(value, SCORE_PLACES)


def score_decimal(value: Any) -> Decimal | None:
    """The score as :func:`score` shows it, as a Decimal (for a sortable export cell)."""
    return rounded(value, SCORE_PLACES)


def percent(value: Any, places: int = 0, *, signed: bool = False) -> str:
    """A value that is already a percentage: ``12.34`` → ``12%``, ``percent(12.34, 1)`` → ``12.3%``."""
    text = number(value, places, signed=signed)
    return text if text == MISSING else f"{text}%"


def share(value: Any, places: int = 0) -> str:
    """A share of one as a percentage: ``0.1`` → ``10%``."""
    result = rounded(value, places + 6)
    return MISSING if result is None else percent(result * 100, places)


def count(value: Any) -> str:
    """A count with thousands separators (``1,024``)."""
    return number(value)


def count_noun(value: Any, noun: str) -> str:
    """``value`` and ``noun`` agreeing in number: ``1 row``, ``2 rows``, ``1,024 rows``.

    ``noun`` is the singular, or ``"singular,plural"`` for an irregular plural
    (``"person,people"``); otherwise the plural adds ``s``.
    """
    singular, _, plural = noun.partition(",")
    plural = plural or f"{singular}s"
    result = rounded(value)
    if result is None:
        return f"{MISSING} {plural}"
    return f"{result:,} {singular if result == 1 else plural}"


def money(value: Any) -> str:
    """``value`` as an amount in the configured currency: ``1234567.8`` → ``£1,234,568``."""
    whole = rounded(value)
    if whole is None:
        return MISSING
    sign = "-" if whole < 0 else ""
    return f"{sign}{currency()['symbol']}{abs(whole):,}"


def whole(value: Any) -> int | None:
    """The whole number :func:`number` and :func:`money` show, as a plain int (an export's
    raw cell: it adds up to what the page shows)."""
    whole = rounded(value)
    return None if whole is None else int(whole)


def money_column(label: str) -> str:
    """An export column's heading for an amount, naming the currency: ``"cost (GBP)"``."""
    return f"{label} ({currency()['code']})"


# --- Dates and times -----------------------------------------------------------------------


def date(value: dt.date | dt.datetime | None) -> str:
    """A day: ``28 Nov 2026`` (a date-time is first put in the server's time zone)."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, dt.datetime):
        value = _local(value)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def datetime(value: dt.datetime | None, *, seconds: bool = False) -> str:
    """A moment: ``28 Nov 2026, 17:01`` (``17:01:09`` with ``seconds``), server time zone."""
    if value is None or value == "":
        return MISSING
    if not isinstance(value, dt.datetime):
        return date(value)
    local = _local(value)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{date(local)}, {clock}"


def time(value: dt.datetime | dt.time | None, *, seconds: bool = False) -> str:
    """The clock time alone: ``17:01`` (``17:01:09`` with ``seconds``)."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, dt.datetime):
        value = _local(value)
    return f"{value:%H:%M:%S}" if seconds else f"{value:%H:%M}"


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def duration(value: dt.timedelta | float | int | None) -> str:
    """A length of time: ``3 days``, ``1 day``, ``2 h 5 min``, ``5 min``, ``under a minute``.

    ``value`` is a timedelta or a number of seconds. From a day on, whole days (what
    "in this stage for …" needs); below, hours and minutes. A negative span (clocks
    apart) reads as ``under a minute`` rather than a minus.
    """
    if value is None or value == "":
        return MISSING
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    minutes = int(max(seconds, 0) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return count_noun(days, "day")
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return "under a minute"


def since(start: dt.datetime | None, end: dt.datetime | None = None) -> str:
    """The :func:`duration` from ``start`` to ``end`` (default: now)."""
    if start is None or start == "":
        return MISSING
    return duration((end or timezone.now()) - start)
