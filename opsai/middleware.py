"""Every page needs a signed-in user with a role, in a session that has not run out."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY, logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone

from opsai.permissions import NO_ROLE, has_any_role

logger = logging.getLogger(__name__)

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
            reason = NO_ROLE
            # For the audit's refusal record: a middleware's exception, unlike a view's,
            # reaches no process_exception hook.
            request.refusal_reason = reason
            raise PermissionDenied(reason)
        return None


def role_not_required(view: Callable) -> Callable:
    """Mark a view as open to signed-in users without a role (e.g. sign-out)."""
    view.role_required = False
    return view


# A GET or HEAD whose database connection dropped is tried once more on a fresh one; a
# request that still cannot reach the database answers 503 and asks the client to come
# back after this many seconds (a PostgreSQL restart takes a few).
DATABASE_RETRY_AFTER_SECONDS = 5
DATABASE_RETRY_METHODS = frozenset({"GET", "HEAD"})
_DATABASE_ERROR = "opsai_database_error"


def _remember_database_error(
    sender: Any, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Mark a request whose uncaught exception came from a lost database connection.

    Django turns an exception into a 500 response inside every middleware layer, so
    :class:`DatabaseRetryMiddleware` only ever sees the response; this receiver of
    ``got_request_exception`` (sent while the exception is being handled) tells it why.
    """
    error = sys.exc_info()[1]
    if (
        request is not None
        and isinstance(error, (OperationalError, InterfaceError))
        and _database_connection_lost()
    ):
        setattr(request, _DATABASE_ERROR, error)


def _database_connection_lost() -> bool:
    # Not every OperationalError is a lost connection (a cancelled statement is one too,
    # on a connection still fine); only a lost one is worth a retry or a 503.
    return any(
        connection.connection is None or not connection.is_usable()
        for connection in connections.all(initialized_only=True)
    )


got_request_exception.connect(_remember_database_error, dispatch_uid="opsai-database-retry")


class DatabaseRetryMiddleware:
    """Survive a PostgreSQL restart: retry an idempotent read once, else answer 503.

    ``CONN_HEALTH_CHECKS`` replaces a connection that died between requests, but not one
    that drops during a request, nor a database that is still starting. Then a GET or HEAD
    is run again, once, on a new connection (it changes nothing, so running it twice is
    safe); if the database is still unreachable — or the request was a write, which is
    never replayed — the answer is a 503 with ``Retry-After`` instead of a 500. Sits above
    the session and authentication middleware, whose first query is usually the one that
    meets the dropped connection.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not hasattr(request, _DATABASE_ERROR):
            return response
        error = getattr(request, _DATABASE_ERROR)
        _close_database_connections()
        if request.method in DATABASE_RETRY_METHODS:
            delattr(request, _DATABASE_ERROR)
            logger.warning(
                "database connection lost (%s); retrying %s %s once",
                error,
                request.method,
                request.path,
            )
            response = self.get_response(request)
            if not hasattr(request, _DATABASE_ERROR):
                return response
            _close_database_connections()
        logger.error("database unavailable; %s %s answered 503", request.method, request.path)
        return database_unavailable_response(request)


def _close_database_connections() -> None:
    # A broken connection cannot be reused; the next query opens a new one.
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DatabaseError:
            connection.connection = None


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 for a database that cannot be reached: JSON for the API, a short page otherwise."""
    message = "The database is unavailable for a moment. Please try again in a few seconds."
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse({"detail": message}, status=503)
    else:
        # No template context processors: they would query the database that is down.
        response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response
