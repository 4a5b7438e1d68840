"""What is waiting on a person: the registry behind the home page's "Needs you" list.

opsai is the lowest layer and knows none of the domain, so each app *registers* what it
owns from its ``AppConfig.ready`` (as it registers lifecycle guards with
``usecases.lifecycle``): reviews to sign, scores to give, check-ins due, and the
executive's "needs a decision" entries (``decision=True``).

A provider is two callables over the database: ``count(user)`` (one COUNT) and
``items(user, limit)`` (one LIMITed query, no query per row), so the list costs the same
for ten use cases or ten thousand. The home page, the navigation badge and the weekly
digest all read the same list through :func:`needs_for` and :func:`needs_count`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from opsai.permissions import has_any_role, is_admin, is_executive

# The badge's count is remembered this long per user. Invalidation is the short TTL
# alone (and the home page, which refreshes it on every visit): a count a minute old in
# the navigation is fine, a query per provider on every page is not.
NEEDS_COUNT_TTL = 60


@dataclass(frozen=True)
class NeedItem:
    """One thing waiting: what it is, where it is done, and why it waits."""

    title: str
    url: str
    detail: str = ""  # the unmet condition, or e.g. "due Friday 4 Dec"
    action: str = ""  # the link's words, e.g. "Sign off"


@dataclass(frozen=True)
class NeedGroup:
    """One kind of thing waiting, with how many and the first few of them."""

    key: str
    label: str
    count: int
    items: list[NeedItem]
    url: str = ""  # "see all" when count > len(items)


@dataclass(frozen=True)
class _Provider:
    key: str
    label: str
    count: Callable[[Any], int]
    items: Callable[[Any, int], list[NeedItem]]
    decision: bool
    see_all: Callable[[Any], str] | None


# Keyed by name so that registering twice (``ready`` in tests) replaces instead of doubling.
_providers: dict[str, _Provider] = {}


def register_need(
    key: str,
    label: str,
    *,
    count: Callable[[Any], int],
    items: Callable[[Any, int], list[NeedItem]],
    decision: bool = False,
    see_all: Callable[[Any], str] | None = None,
) -> None:
    """Show ``label`` in the list of each user for whom ``count(user)`` is above zero.

    ``items(user, limit)`` returns at most ``limit`` of them; ``see_all(user)`` is the
    page that lists every one. ``decision=True`` makes it an executive's "needs a
    decision" entry, shown only to executives and admins.
    """
    _providers[key] = _Provider(key, label, count, items, decision, see_all)


def decides(user: Any) -> bool:
    """Does ``user`` get the "needs a decision" entries (executives and admins)?"""
    return bool(is_executive(user) or is_admin(user))


def _applies(provider: _Provider, user: Any) -> bool:
    return has_any_role(user) and (not provider.decision or decides(user))


def needs_for(user: Any, *, limit: int = 5, decision: bool = False) -> list[NeedGroup]:
    """The groups waiting on ``user`` (``decision``: the "needs a decision" ones), in
    registration order, each with its count and first ``limit`` items; empty groups
    are left out. Two queries per registered group at most."""
    groups = []
    for provider in _providers.values():
        if provider.decision != decision or not _applies(provider, user):
            continue
        count = provider.count(user)
        if count <= 0:
            continue
        items = provider.items(user, limit)
        url = provider.see_all(user) if provider.see_all and count > len(items) else ""
        groups.append(NeedGroup(provider.key, provider.label, count, items, url))
    return groups


def _cache_key(user: Any) -> str:
    return f"opsai:needs-count:{user.pk}"


def needs_count(user: Any) -> int:
    """How many things wait on ``user``, all groups together (decisions included for
    those who get them), remembered for :data:`NEEDS_COUNT_TTL` seconds."""
    cached = needs_count_cached(user)
    if cached is not None:
        return cached
    total = sum(p.count(user) for p in _providers.values() if _applies(p, user))
    needs_count_remember(user, total)
    return total


def needs_count_cached(user: Any) -> int | None:
    """The remembered count, or ``None`` when it has expired (no database query)."""
    if not (user and user.is_authenticated):
        return None
    return cache.get(_cache_key(user))


def needs_count_remember(user: Any, total: int) -> None:
    """Remember ``total`` as the user's count (a page that just counted everything)."""
    cache.set(_cache_key(user), total, timeout=NEEDS_COUNT_TTL)


def needs_total(groups: list[NeedGroup]) -> int:
    """The sum of the groups' counts."""
    return sum(group.count for group in groups)
