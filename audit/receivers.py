"""Sign-ins, failed sign-ins, sign-outs and refused requests on the audit trail.

The sign-in records come from Django's auth signals, connected in ``AuditConfig.ready``;
refusals (every 401 and 403) from ``audit.middleware.RefusalAuditMiddleware``. A password
never reaches the trail: a failed sign-in records only the username tried and the address.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import DatabaseError, transaction
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


# A refused request's path and reason are cut to this many characters.
REFUSAL_TEXT_MAX = 300

logger = logging.getLogger(__name__)


def record_refusal(request: HttpRequest, reason: str) -> None:
    """Record a refused request (a 401 or 403): who, which method and path, why, from where.

    One insert, nothing more: a probe that collects hundreds of 403s costs hundreds of
    small rows, which is what the trail is for. A database that cannot take the row is
    logged, not raised: the visitor still gets their refusal, not a 500.
    """
    user = getattr(request, "user", None)
    after = {
        "method": request.method,
        # PostgreSQL's JSON cannot hold a NUL character; a probe's path may carry one.
        "path": request.path.replace("\x00", "")[:REFUSAL_TEXT_MAX],
        "reason": reason.replace("\x00", "")[:REFUSAL_TEXT_MAX],
        "ip": _address(request),
    }
    if not getattr(user, "is_authenticated", False):
        after["anonymous"] = True
    try:
        with transaction.atomic():
            audit_record(actor=user, action="request.refused", target=None, after=after)
    except DatabaseError:
        logger.exception("could not record a refused request: %s", after)


def connect() -> None:
    """Connect the receivers (once: ``dispatch_uid`` guards against a second ready())."""
    user_logged_in.connect(record_sign_in, dispatch_uid="audit.record_sign_in")
    user_login_failed.connect(record_sign_in_failure, dispatch_uid="audit.record_sign_in_failure")
    user_logged_out.connect(record_sign_out, dispatch_uid="audit.record_sign_out")
