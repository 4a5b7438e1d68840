"""The values opsai can hold: one place names every bound applied at the edge.

A value is checked where it comes in (a serializer, a form, the ingest's row check),
so no stored row can later break a refresh, a page or an export. The API applies
these through ``opsai.api`` (its serializer fields and base serializer), the ingest
through ``kpis.services.ingest``.

This module sits in the bottom layer and imports nothing from the apps or from DRF.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

# No business measure needs more; beyond it the snapshot sums, percentages and money
# values (Decimal columns of 16 digits) overflow. Every float that comes in is bounded
# by it: measurement values, KPI baselines, targets and guardrails.
MAX_ABS_VALUE = 1e15

# Measurements (and other recorded instants) start at the Unix epoch: no operations data
# is older, and pandas, which the snapshot maths uses, cannot hold instants before 1677
# at all ("timestamp too small") — one such row once broke every refresh.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
# A measurement may be up to this far in the future: the clock skew of the sender.
FUTURE_SKEW = timedelta(minutes=5)
# Instants that are not measurements (annotations, releases, query filters) may lie in the
# future, but not past the last instant pandas can hold (2262-04-11).
LATEST_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)
# No time zone is further from UTC (Kiribati, +14:00); PostgreSQL refuses past ±15:59.
MAX_UTC_OFFSET = timedelta(hours=14)

# Free text a person writes (an analysis, a rationale, a comment, notes): a long page of
# text is about 10,000 characters; more is a paste by mistake or an attack on storage.
LONG_TEXT_MAX = 10_000


def number_problem(value: float) -> str:
    """Why ``value`` cannot be stored as a number, or ``""`` when it can."""
    if not math.isfinite(value):
        return "Enter a finite number."
    if abs(value) > MAX_ABS_VALUE:
        return f"Enter a number between -{MAX_ABS_VALUE:.0e} and {MAX_ABS_VALUE:.0e}."
    return ""


def instant_utc(value: datetime, *, latest: datetime = LATEST_INSTANT) -> datetime:
    """``value`` (aware; naive means UTC) in UTC, within ``EARLIEST_INSTANT`` … ``latest``.

    Raises ``ValueError`` saying why not; an offset that pushes the instant out of
    Python's range (``0001-01-01T00:00+14:00``) is out of range too, not an OverflowError.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    offset = value.utcoffset() or timedelta(0)
    if abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("has an offset beyond ±14:00 (no time zone has one)")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if value < EARLIEST_INSTANT:
        raise ValueError(f"is before {EARLIEST_INSTANT:%Y-%m-%d}")
    if value > latest:
        raise ValueError("is in the future" if latest < LATEST_INSTANT else "is too far ahead")
    return value


def day_problem(day: date) -> str:
    """Why a calendar day is outside the window opsai holds, or ``""`` when it is inside."""
    if not EARLIEST_INSTANT.date() <= day < LATEST_INSTANT.date():
        return f"Use a date from {EARLIEST_INSTANT:%Y-%m-%d} to {LATEST_INSTANT:%Y}."
    return ""
