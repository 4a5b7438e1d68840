"""Template context every page needs: the navigation and the user's roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rules
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from opsai.needs import needs_count_cached
from opsai.permissions import is_read_only, role_names
from opsai.selectors import background_delay


@dataclass(frozen=True)
class NavEntry:
    """One entry of the main navigation, offered only to whoever holds ``permission``
    (and, for ``read_only``, only to those who only read: executives)."""

    label: str
    url_name: str
    permission: str
    read_only: bool = False


# An entry whose url does not exist yet is left out, so an app appears in the
# navigation the moment it registers its page.
NAVIGATION = [
    # An executive's home is the portfolio dashboard; it comes first for them.
    NavEntry("Dashboard", "kpis:portfolio", "kpis.view_kpi", read_only=True),
    NavEntry("Portfolio", "usecases:portfolio", "usecases.view_usecase"),
    NavEntry("Intake", "usecases:intake", "usecases.add_usecase"),
    NavEntry("KPIs", "kpis:index", "kpis.view_kpi"),
    NavEntry("Governance", "governance:index", "governance.view"),
    NavEntry("Data", "kpis:data", "kpis.manage_kpis"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The entries the user may open (``key`` is the url name), the current one active."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"navigation": [], "user_roles": []}
    read_only = bool(is_read_only(user))
    entries = []
    for entry in NAVIGATION:
        # rules itself, not user.has_perm: an entry refused by the rules would be asked of
        # Django's ModelBackend next, two queries on every page for no answer.
        if (entry.read_only and not read_only) or not rules.has_perm(entry.permission, user):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        entries.append({"key": entry.url_name, "label": entry.label, "url": url, "active": False})
    current = _current_entry(request, entries)
    if current is not None:
        current["active"] = True
    return {"navigation": entries, "user_roles": role_names(user)}


def _current_entry(request: HttpRequest, entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The entry of the page itself (its url name), else the one with the longest
    matching prefix: /usecases/new/ lights Intake, not Portfolio as well, and the
    dashboard lights Dashboard, not KPIs (whose /kpis/ is a prefix of it)."""
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match else None
    for entry in entries:
        if entry["key"] == view_name:
            return entry
    matching = [entry for entry in entries if request.path.startswith(entry["url"])]
    return max(matching, key=lambda entry: len(entry["url"])) if matching else None


def background_status(request: HttpRequest) -> dict[str, Any]:
    """``background_delay`` for signed-in pages: the banner that says work is waiting."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"background_delay": background_delay()}


def needs_badge(request: HttpRequest) -> dict[str, Any]:
    """``needs_count`` for the navigation's "Needs you N": the remembered count, or
    ``None`` while there is none (the badge then fetches it). No database query here."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"needs_count": needs_count_cached(request.user)}
