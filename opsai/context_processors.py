"""Template context every page needs: the navigation and the user's roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from opsai.needs import needs_count_cached
from opsai.permissions import role_names
from opsai.selectors import background_delay

# (label, url name). An entry whose url does not exist yet is left out, so an app
# appears in the navigation the moment it registers its page.
NAVIGATION = [
    ("Portfolio", "usecases:portfolio"),
    ("Intake", "usecases:intake"),
    ("KPIs", "kpis:index"),
    ("Governance", "governance:index"),
    ("Data", "kpis:data"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"navigation": [], "user_roles": []}
    entries = []
    for label, url_name in NAVIGATION:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        entries.append({"label": label, "url": url, "active": False})
    # The current page belongs to the entry with the longest matching prefix, so
    # /usecases/new/ lights up Intake, not Portfolio as well.
    matching = [entry for entry in entries if request.path.startswith(entry["url"])]
    if matching:
        max(matching, key=lambda entry: len(entry["url"]))["active"] = True
    return {"navigation": entries, "user_roles": role_names(request.user)}


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
