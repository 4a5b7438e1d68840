"""The audit trail page and its streamed CSV export."""

from __future__ import annotations

import csv
from typing import Any

from django.http import (
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from audit.display import audit_entries
from audit.filters import AuditEventFilterSet
from audit.selectors import audit_event_list
from governance.selectors import audit_events_visible_to
from opsai.display import compact_json
from opsai.exports import export_row
from opsai.paging import paginate, query_without, sort_links
from opsai.permissions import permission_required

AUDIT_COLUMNS = ["occurred_at", "actor_name", "action", "object_type", "object_id", "object_repr",
                 "before", "after", "ticket_id", "model_version"]  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_safe
@permission_required("governance.view_audit")
def audit(request: HttpRequest) -> HttpResponse:
    """The audit trail filtered by object, actor and date; ``?export=csv`` downloads it."""
    # Someone else's draft (and its KPIs) leaves no trace here either.
    trail = audit_events_visible_to(audit_event_list(), request.user)
    filterset = AuditEventFilterSet(request.GET or None, queryset=trail, page=True)
    form = filterset.form
    events = filterset.qs if form.is_valid() else trail
    if request.GET.get("export") == "csv" and (not request.GET or form.is_valid()):
        writer = csv.writer(_Echo())
        # Actor names, object titles and tickets are typed by people: escape formulas.
        rows = (
            export_row(_csv_cell(e, c) for c in AUDIT_COLUMNS)
            for e in events.iterator(chunk_size=2000)
        )
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in _with_header(AUDIT_COLUMNS, rows)),
            content_type="text/csv",
        )
        response["Content-Disposition"] = 'attachment; filename="opsai-audit.csv"'
        return response
    if request.GET.get("sort") == "occurred":  # oldest first; newest first is the default
        events = events.order_by("occurred_at", "pk")
    listing = paginate(request, events, target="#audit-list", default_size=100)
    context = {
        "form": form,
        "listing": listing,
        "entries": audit_entries(listing.page.object_list),
        "sort_links": sort_links(request.GET, ["occurred"], default="-occurred"),
        "query": query_without(request.GET, "page", "export").urlencode(),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "governance/partials/audit_list.html" if partial else "governance/audit.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _csv_cell(event: Any, column: str) -> Any:
    """One cell: instants in ISO 8601, before/after as JSON (not Python's repr of a dict)."""
    value = getattr(event, column)
    if column == "occurred_at":
        return value.isoformat()
    if column in ("before", "after"):
        return compact_json(value)
    return value


def _with_header(header: list[str], rows: Any) -> Any:
    yield header
    yield from rows
