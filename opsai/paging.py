"""One way to page a long list: the page size the reader picks, the count, page and sort links.

Every list that can grow with the organisation (the portfolio, the governance page's
open reviews, the review queue, the KPIs, the audit trail) pages through
:func:`paginate` and renders ``templates/opsai/partials/pages.html``. Filters and sort
are applied to the queryset first, in PostgreSQL; this module only slices it. Each
link keeps the query string (filters, sort, page size) and, under htmx, swaps only
the list's own element (``target``) and pushes the address, so a reload or a shared
link shows the same page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, QueryDict

# The sizes offered; anything else asked for is clamped into [min, max].
PAGE_SIZES: tuple[int, ...] = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = PAGE_SIZES[-1]


@dataclass
class Listing:
    """One page of a list and what its navigation needs (see ``opsai/partials/pages.html``)."""

    page: Page
    size: int
    target: str
    default: int = DEFAULT_PAGE_SIZE  # the list's own size, left out of its links
    links: list[dict[str, Any]] = field(default_factory=list)
    sizes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.page.paginator.count

    def __iter__(self) -> Any:
        return iter(self.page.object_list)


def page_size_of(raw: str | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    """``?size=`` as a page size: a number is clamped to 1 … :data:`MAX_PAGE_SIZE`, junk is the default."""
    try:
        size = int(raw) if raw else default
    except ValueError:
        return default
    return max(1, min(size, MAX_PAGE_SIZE))


def page_number_of(raw: str | None, num_pages: int) -> int:
    """``?page=`` clamped to the pages there are: a bad or stale link shows a page, never an error."""
    try:
        number = int(raw or 1)
    except ValueError:
        number = 1
    return max(1, min(number, num_pages))


def query_without(query: QueryDict, *keys: str) -> QueryDict:
    """A mutable copy of ``query`` without ``keys``."""
    copy = query.copy()
    for key in keys:
        copy.pop(key, None)
    return copy


def paginate(
    request: HttpRequest,
    items: Sequence[Any] | Any,
    *,
    target: str,
    default_size: int = DEFAULT_PAGE_SIZE,
    count: int | None = None,
) -> Listing:
    """The page ``?page=`` of ``items`` (a filtered, ordered queryset) at ``?size=`` rows.

    ``count``, when the caller already knows it (e.g. from a GROUP BY it needs anyway),
    spares the paginator its COUNT query. ``target`` is the CSS selector of the element
    htmx swaps when a link is followed.
    """
    size = page_size_of(request.GET.get("size"), default_size)
    paginator = Paginator(items, size)
    if count is not None:
        paginator.count = count
    page = paginator.page(page_number_of(request.GET.get("page"), paginator.num_pages))
    listing = Listing(page=page, size=size, target=target, default=default_size)
    listing.links = _page_links(request.GET, page)
    listing.sizes = _size_links(request.GET, size, default_size)
    return listing


def _url(query: QueryDict, **changes: Any) -> str:
    changed = query_without(query, "export")
    for key, value in changes.items():
        if value is None:
            changed.pop(key, None)
        else:
            changed[key] = str(value)
    return f"?{changed.urlencode()}"


def _page_links(query: QueryDict, page: Page) -> list[dict[str, Any]]:
    """Prev, a few numbers around the current page (… for the gaps), next; the query kept."""
    links: list[dict[str, Any]] = []
    if page.has_previous():
        previous = page.previous_page_number()
        links.append({"label": "‹ Prev", "url": _url(query, page=previous), "rel": "prev"})
    for number in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1):
        if number == Paginator.ELLIPSIS:
            links.append({"label": "…", "url": ""})
        else:
            links.append(
                {
                    "label": f"{int(number):,}",
                    "url": _url(query, page=number),
                    "current": number == page.number,
                }
            )
    if page.has_next():
        links.append(
            {"label": "Next ›", "url": _url(query, page=page.next_page_number()), "rel": "next"}
        )
    return links


def _size_links(query: QueryDict, current: int, default: int) -> list[dict[str, Any]]:
    """One link per offered size; a new size starts again from the first page."""
    return [
        {
            "size": size,
            "url": _url(query, size=None if size == default else size, page=None),
            "current": size == current,
        }
        for size in PAGE_SIZES
    ]


def sort_links(
    query: QueryDict, keys: Iterable[str], *, default: str, param: str = "sort"
) -> dict[str, dict[str, str]]:
    """Column key → the link that sorts by it (a second click reverses it) and its arrow.

    ``default`` is the order in force without ``?sort=`` (e.g. ``"-score"``). A new
    order starts from the first page; the page size and filters are kept.
    """
    current = query.get(param, "") or default
    links = {}
    for key in keys:
        value = key if current == f"-{key}" else f"-{key}"
        arrow = "↓" if current == f"-{key}" else ("↑" if current == key else "")
        links[key] = {"url": _url(query, **{param: value, "page": None}), "arrow": arrow}
    return links


def sort_value(query: QueryDict, allowed: Iterable[str], *, default: str) -> str:
    """``?sort=`` if it names an allowed key (``key`` or ``-key``), else ``default``."""
    value = query.get("sort", "")
    return value if value.lstrip("-") in set(allowed) and value else default
