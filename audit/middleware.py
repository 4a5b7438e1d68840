"""Every refused request (401 or 403), page or API, on the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from audit.receivers import record_refusal

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# Not signed in (the API's 401) or not allowed (403). A page's 404 for another team's
# object is left out: it answers "no such thing", not "refused".
REFUSED_STATUSES = {401, 403}


class RefusalAuditMiddleware:
    """Record each refusal (401, 403) with the actor, method, path and reason.

    Sits right after the authentication middlewares, so every refusal — from a view, from
    another middleware (CSRF, the role check), from the API — passes through it with the
    user known. The reason is the ``PermissionDenied`` message (caught in
    :meth:`process_exception`, or left on ``request.refusal_reason`` by a middleware that
    refuses), DRF's ``detail``, or a failed CSRF check.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code in REFUSED_STATUSES:
            record_refusal(request, refusal_reason(request, response))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied):
            request.refusal_reason = str(exception)


def refusal_reason(request: HttpRequest, response: HttpResponse) -> str:
    """Why ``request`` was refused, in words, as best the answer tells."""
    reason = getattr(request, "refusal_reason", "")
    data = getattr(response, "data", None)  # a DRF Response keeps its body
    if not reason and isinstance(data, dict) and data.get("detail"):
        reason = str(data["detail"])
    # CsrfViewMiddleware marks the requests it let through; an unsafe one it did not mark
    # and that no view refused was refused by it (its own reason goes only to the log).
    view = getattr(getattr(request, "resolver_match", None), "func", None)
    if (
        not reason
        and request.method not in SAFE_METHODS
        and not getattr(request, "csrf_processing_done", False)
        and not getattr(view, "csrf_exempt", False)
    ):
        reason = "CSRF verification failed"
    return reason or "Permission denied"
