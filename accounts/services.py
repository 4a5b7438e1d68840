"""API tokens: create (the key is returned once), revoke, and mark as used; the weekly
digest turned on or off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from knox.settings import knox_settings

from accounts.models import ApiToken
from accounts.selectors import token_lifetime_choices
from audit.services import audit_record
from opsai.models import UserProfile

NAME_MAX = ApiToken._meta.get_field("name").max_length


def _described(token: ApiToken) -> dict[str, Any]:
    """What the audit trail keeps of a token: never its key or digest."""
    return {
        "token": str(token.uid),
        "name": token.name,
        "owner": token.user.get_username(),
        "expires": token.expiry.isoformat() if token.expiry else None,
    }


def api_token_create(*, user: Any, name: str, days: int) -> tuple[ApiToken, str]:
    """Give ``user`` a token named ``name`` that works for ``days`` days.

    Returns the token and its key. The key is not kept anywhere (knox stores its
    digest): the caller shows it once, and nobody can show it again.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token, e.g. after the script that will use it."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"Use at most {NAME_MAX} characters."})
    choices = token_lifetime_choices()
    if days not in choices:
        allowed = ", ".join(str(choice) for choice in choices)
        raise ValidationError({"days": f"Choose a lifetime of {allowed} days."})
    with transaction.atomic():
        token, key = ApiToken.objects.create(user=user, expiry=timedelta(days=days), name=name)
        audit_record(actor=user, action="token.created", target=user, after=_described(token))
    return token, key


def api_token_revoke(*, token: ApiToken, actor: Any) -> None:
    """Delete ``token``: the key stops working at once. Callers check who may."""
    with transaction.atomic():
        audit_record(
            actor=actor, action="token.revoked", target=token.user, before=_described(token)
        )
        token.delete()


def api_token_mark_used(*, token: ApiToken) -> None:
    """Record that ``token`` was just used, at most once per knox's refresh interval.

    A conditional UPDATE: a client calling many times a second costs one write a minute,
    and two requests at once never write twice. Not on the audit trail — using a token
    changes nothing, and the trail would drown in it.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=knox_settings.MIN_REFRESH_INTERVAL)
    updated = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used__isnull=True) | Q(last_used__lt=stale))
        .update(last_used=now)
    )
    if updated:
        token.last_used = now


def profile_digest_set(*, user: Any, on: bool, actor: Any) -> bool:
    """Turn ``user``'s weekly "Needs you" email on or off; returns whether it changed.

    On the audit trail like every other change to a person's account.
    """
    with transaction.atomic():
        profile, _ = UserProfile.objects.select_for_update().get_or_create(user=user)
        if profile.weekly_digest == on:
            return False
        before = {"weekly_digest": profile.weekly_digest}
        profile.weekly_digest = on
        profile.save(update_fields=["weekly_digest"])
        audit_record(
            actor=actor,
            action="profile.digest_changed",
            target=user,
            before=before,
            after={"weekly_digest": on},
        )
    return True
