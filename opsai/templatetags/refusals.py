"""``{% load refusals %}`` then ``{% refusal_for "kpis.manage_kpis" %}``: why the signed-in
user may not do something, in the words a refused request would get — for a page that
shows what a reader can see instead of a form they may not use; and
``{% may "kpis.manage_kpis" as can_send %}`` to offer a link only to who may follow it."""

from __future__ import annotations

from typing import Any

import rules
from django import template

from opsai.permissions import refusal

register = template.Library()


@register.simple_tag(takes_context=True)
def refusal_for(context: dict[str, Any], permission: str, obj: Any = None) -> str:
    """:func:`opsai.permissions.refusal` for the request's user."""
    return refusal(context["request"].user, permission, obj)


@register.simple_tag(takes_context=True)
def may(context: dict[str, Any], permission: str, obj: Any = None) -> bool:
    """Does the request's user hold ``permission`` (on ``obj``)? Asks rules itself: Django's
    ``perms`` would ask the ModelBackend too after a refusal, two queries for no answer."""
    return bool(rules.has_perm(permission, context["request"].user, obj))
