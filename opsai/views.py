"""Pages that belong to no domain: home, health, errors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from opsai.permissions import is_read_only, permission_required, role_names
from opsai.selectors import health_report


@require_safe
@permission_required("opsai.view_site")
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in landing page: who you are and where to go next.

    Executives only read, and what they read first is whether the business moved:
    their home is the portfolio dashboard.
    """
    from usecases.selectors import usecase_stage_counts

    if is_read_only(request.user):
        return redirect("kpis:portfolio")

    context = {"roles": role_names(request.user), "stage_counts": usecase_stage_counts()}
    return render(request, "home.html", context)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker and worker heartbeat as JSON; 200 when all are up, else 503."""
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403 page that says why, in words."""
    reason = str(exception) if exception and str(exception) else "You may not open this page."
    return render(request, "403.html", {"reason": reason}, status=403)
