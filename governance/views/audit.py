"""The audit trail page and its streamed CSV export."""

from __future__ import annotations

import csv
from typing import Any

from django.core.paginator import Paginator
from django.http import (
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.views.decorators.http import require_safe

from audit.filters import AuditEventFilterSet
from audit.selectors import audit_event_list
from governance.selectors import audit_events_visible_to
from opsai.exports import export_row
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
            export_row(
                getattr(e, c).isoformat() if c == "occurred_at" else getattr(e, c)
                for c in AUDIT_COLUMNS
            )
            for e in events.iterator(chunk_size=2000)
        )
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in _with_header(AUDIT_COLUMNS, rows)),
            content_type="text/csv",
        )
        response["Content-Disposition"] = 'attachment; filename="opsai-audit.csv"'
        return response
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "governance/audit.html", {"form": form, "page": page, "query": query.urlencode()}
    )


def _with_header(header: list[str], rows: Any) -> Any:
    yield header
    yield from rows
