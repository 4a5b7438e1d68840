"""Sign-in security shared by the lockout (django-axes), the session limits and the audit.

``client_ip`` is the one answer to "where did this request come from"; the lockout
counts failures per username and that address, and the audit trail records it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOCKED_OUT_TEMPLATE = "registration/locked_out.html"
# As long as Django's own username field: a megabyte "username" is cut, not stored.
USERNAME_MAX_LENGTH = 150


def client_ip(request: HttpRequest) -> str:
    """The address the request came from.

    Behind the TLS proxy (``BEHIND_TLS_PROXY``) that address is the last entry of
    ``X-Forwarded-For``: the one our proxy appended. Earlier entries are whatever the
    client sent, so trusting them would let an attacker pick a fresh address for every
    guess and never be locked out.
    """
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = _valid_ip(forwarded.split(",")[-1].strip())
        if last:
            return last
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _valid_ip(text: str) -> str:
    """``text`` if it is an IP address, else "" (the lockout stores it in an inet column)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def signin_username(request: HttpRequest | None, credentials: dict[str, Any] | None = None) -> str:
    """The username a sign-in attempt tried, cut to a length the lockout can store."""
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username", "") if request is not None else ""
    return str(username)[:USERNAME_MAX_LENGTH]


def signin_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The answer to a sign-in attempt while its username and address are locked out (429).

    django-axes calls this (``AXES_LOCKOUT_CALLABLE``) instead of its own one-line reply,
    so the page says in words why, for how long, and what to do.
    """
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
        "username": signin_username(request, credentials),
    }
    return render(request, LOCKED_OUT_TEMPLATE, context, status=429)
