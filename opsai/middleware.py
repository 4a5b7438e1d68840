"""Every page needs a signed-in user with a role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from opsai.permissions import has_any_role

# The API authenticates itself (session or token) and answers 401/403 as JSON.
API_PREFIX = "/api/"


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
            raise PermissionDenied("Your account has no opsai role yet. Ask an admin for one.")
        return None


def role_not_required(view: Callable) -> Callable:
    """Mark a view as open to signed-in users without a role (e.g. sign-out)."""
    view.role_required = False
    return view
