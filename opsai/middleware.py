"""Every page needs a signed-in user with a role, in a session that has not run out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY, logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from opsai.permissions import has_any_role

# The API authenticates itself (session or token) and answers 401/403 as JSON.
API_PREFIX = "/api/"


# Session keys of the limits below: when the session began and when it was last used.
SIGNED_IN_AT = "opsai_signed_in_at"
LAST_SEEN_AT = "opsai_last_seen_at"
# Writing the session on every request would cost a database write per page; a minute's
# precision is plenty for a 30-minute idle limit.
LAST_SEEN_PRECISION_SECONDS = 60


class SessionLimitsMiddleware:
    """End a session that was idle too long, has lived too long, or whose user is gone.

    ``SESSION_IDLE_TIMEOUT`` (no request for that long) and ``SESSION_ABSOLUTE_LIFETIME``
    (since sign-in, however active) come from the settings. A deactivated or deleted
    user's session is flushed on their next request: Django already treats them as
    anonymous, this removes the session itself. Sits after ``AuthenticationMiddleware``
    and before ``SignInRequiredMiddleware``, so a signed-out request is sent to sign in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if request.user.is_authenticated:
            reason = session_expiry_reason(session, timezone.now().timestamp())
            if reason:
                request.signout_reason = reason  # read by the audit's sign-out record
                logout(request)
        elif SESSION_KEY in session and BACKEND_SESSION_KEY in session:
            session.flush()  # the user was deactivated or deleted since signing in
        response = self.get_response(request)
        # After the view: a session signed in before these limits existed gets its stamps
        # here. Only a session that holds a sign-in: an API client with a token is
        # authenticated too, but has no session to time.
        if request.user.is_authenticated and SESSION_KEY in request.session:
            touch_session(request.session, timezone.now().timestamp())
        return response


def session_expiry_reason(session: Any, now: float) -> str:
    """Why this signed-in session must end now ("idle" or "expired"), or "" if it may go on."""
    signed_in_at = session.get(SIGNED_IN_AT)
    last_seen_at = session.get(LAST_SEEN_AT)
    if signed_in_at is None or last_seen_at is None:
        return ""
    if now - signed_in_at >= settings.SESSION_ABSOLUTE_LIFETIME.total_seconds():
        return "expired"
    if now - last_seen_at >= settings.SESSION_IDLE_TIMEOUT.total_seconds():
        return "idle"
    return ""


def start_session_clock(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """At sign-in (``user_logged_in``), stamp the new session's start and latest use.

    Done here, where ``login()`` writes the session anyway, so the requests that follow
    within a minute do not write it again.
    """
    if request is not None and hasattr(request, "session"):
        now = timezone.now().timestamp()
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN_AT] = now


def touch_session(session: Any, now: float) -> None:
    """Stamp the session's start (first request after sign-in) and its latest use."""
    session.setdefault(SIGNED_IN_AT, now)
    if now - session.get(LAST_SEEN_AT, 0) >= LAST_SEEN_PRECISION_SECONDS:
        session[LAST_SEEN_AT] = now


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, leaving /api/ to DRF's authentication."""

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RoleRequiredMiddleware:
    """Refuse (403) a signed-in user who holds no opsai role.

    Views that must work without a role (sign-in, sign-out, health) are marked with
    ``login_not_required`` or :func:`role_not_required`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX):
            return None
        if not getattr(view_func, "login_required", True):
            return None
        if not getattr(view_func, "role_required", True):
            return None
        if request.user.is_authenticated and not has_any_role(request.user):
            reason = "Your account has no opsai role yet. Ask an admin for one."
            # For the audit's refusal record: a middleware's exception, unlike a view's,
            # reaches no process_exception hook.
            request.refusal_reason = reason
            raise PermissionDenied(reason)
        return None


def role_not_required(view: Callable) -> Callable:
    """Mark a view as open to signed-in users without a role (e.g. sign-out)."""
    view.role_required = False
    return view
