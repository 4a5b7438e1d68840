"""Pages that belong to no domain: health, errors and the "Needs you" badge."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from opsai.needs import needs_count
from opsai.permissions import LAST_RESORT, has_any_role
from opsai.selectors import health_report


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker and worker heartbeat as JSON; 200 when all are up, else 503."""
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403 page that says why, in words (``opsai.permissions.refusal``), and points to what
    the user can do: their home (for someone without a role, signing out)."""
    reason = str(exception) if exception and str(exception) else LAST_RESORT
    context = {"reason": reason, "has_role": has_any_role(getattr(request, "user", None))}
    return render(request, "403.html", context, status=403)


@require_GET
def needs_badge(request: HttpRequest) -> HttpResponse:
    """The navigation's "Needs you N" badge (htmx fetches it when no count is remembered)."""
    context = {"needs_count": needs_count(request.user)}
    return render(request, "opsai/partials/needs_badge.html", context)
