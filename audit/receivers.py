"""Sign-ins, failed sign-ins and sign-outs on the audit trail, from Django's auth signals.

Connected in ``AuditConfig.ready``. A password never reaches the trail: a failed sign-in
records only the username tried and the address it came from.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.http import HttpRequest

from audit.services import audit_record
from opsai.security import client_ip, signin_username


def _address(request: HttpRequest | None) -> str:
    return client_ip(request) if request is not None else ""


def record_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Record a successful sign-in: who, and from which address."""
    with transaction.atomic():
        audit_record(
            actor=user, action="auth.signed_in", target=user, after={"ip": _address(request)}
        )


def record_sign_in_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Record a failed sign-in: the username tried and the address, never the password."""
    username = signin_username(request, credentials)
    with transaction.atomic():
        audit_record(
            actor=None,
            action="auth.sign_in_failed",
            target=None,
            after={"username": username, "ip": _address(request)},
        )


def record_sign_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Record a sign-out, and why: the person chose it, or the session ran idle or out."""
    if user is None:
        return  # signing out an anonymous visitor changes nothing
    reason = getattr(request, "signout_reason", "signed out")
    with transaction.atomic():
        audit_record(
            actor=user,
            action="auth.signed_out",
            target=user,
            after={"reason": reason, "ip": _address(request)},
        )


def connect() -> None:
    """Connect the receivers (once: ``dispatch_uid`` guards against a second ready())."""
    user_logged_in.connect(record_sign_in, dispatch_uid="audit.record_sign_in")
    user_login_failed.connect(record_sign_in_failure, dispatch_uid="audit.record_sign_in_failure")
    user_logged_out.connect(record_sign_out, dispatch_uid="audit.record_sign_out")
