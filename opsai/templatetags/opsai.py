"""Template filters shared by every app: ``{% load opsai %}`` then ``|score``, ``|money``, …

Each filter is a thin wrapper over :mod:`opsai.formatting`, the one owner of how a
value is shown (the exports and chart hovers call the same functions). Use them
instead of ``floatformat``, ``|date``, ``|time`` and ``|timesince`` (``|day``,
``|datetime``, ``|clock`` and ``|since``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from opsai import formatting

register = template.Library()


@register.filter
def money(value: Any) -> str:
    """An amount in the configured currency, whole units with separators (``£1,234,568``)."""
    return formatting.money(value)


@register.filter
def number(value: Any, places: int = 0) -> str:
    """A number with thousands separators, ``places`` decimals half up (``12,346``; ``|number:2``)."""
    return formatting.number(value, int(places))


@register.filter
def signed(value: Any, places: int = 0) -> str:
    """A change: :func:`number` with a ``+`` before a positive value (``+3.20``)."""
    return formatting.number(value, int(places), signed=True)


@register.filter
def score(value: Any) -> str:
    """A 1–5 score, two decimals half up (``3.125`` → ``3.13``)."""
    return formatting.score(value)


@register.filter
def percent(value: Any, places: int = 0) -> str:
    """A value that is already a percentage (``12.3`` → ``12%``; ``|percent:1`` → ``12.3%``)."""
    return formatting.percent(value, int(places))


@register.filter
def signed_percent(value: Any, places: int = 0) -> str:
    """A percentage change with a ``+`` before a rise (``+12.3%``)."""
    return formatting.percent(value, int(places), signed=True)


@register.filter
def share(value: Any, places: int = 0) -> str:
    """A share of one as a percentage (``0.1`` → ``10%``)."""
    return formatting.share(value, int(places))


@register.filter
def count_noun(value: Any, noun: str) -> str:
    """A count and its noun in agreement: ``{{ n|count_noun:"row" }}`` → ``1 row`` / ``2 rows``.

    An irregular plural is given after a comma: ``|count_noun:"person,people"``.
    """
    return formatting.count_noun(value, noun)


# Named ``day`` and ``clock``, not ``date`` and ``time``: loading this library must not
# replace Django's own ``|date:"Y-m-d"``, which builds URL arguments.
@register.filter
def day(value: Any) -> str:
    """A day: ``28 Nov 2026``."""
    return formatting.date(value)


@register.filter
def datetime(value: Any, arg: str = "") -> str:
    """A moment: ``28 Nov 2026, 17:01``; ``|datetime:"seconds"`` adds the seconds."""
    return formatting.datetime(value, seconds=arg == "seconds")


@register.filter
def clock(value: Any, arg: str = "") -> str:
    """The clock time: ``17:01``; ``|clock:"seconds"`` adds the seconds."""
    return formatting.time(value, seconds=arg == "seconds")


@register.filter
def since(value: Any, end: dt.datetime | None = None) -> str:
    """How long from ``value`` to ``end`` (default now): ``3 days``, ``2 h 5 min``."""
    return formatting.since(value, end or None)


@register.filter
def duration(value: Any) -> str:
    """A timedelta or a number of seconds as ``3 days`` / ``2 h 5 min``."""
    return formatting.duration(value)


@register.simple_tag
def currency_symbol() -> str:
    """The configured currency's symbol, for a column heading (``Hourly cost (£)``)."""
    return formatting.currency()["symbol"].strip()
