"""Template filters shared by every app: ``{% load opsai %}`` then ``|money`` and ``|number``."""

from __future__ import annotations

from typing import Any

from django import template

from opsai import formatting

register = template.Library()


@register.filter
def money(value: Any) -> str:
    """An amount in the configured currency, whole units with separators (``£1,234,568``)."""
    return formatting.money(value)


@register.filter
def number(value: Any) -> str:
    """A whole number with thousands separators (``12,346``)."""
    return formatting.number(value)


@register.simple_tag
def currency_symbol() -> str:
    """The configured currency's symbol, for a column heading (``Hourly cost (£)``)."""
    return formatting.currency()["symbol"].strip()
