"""Reads about a person's own account: their roles and their live API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import ApiToken
from opsai.models import UserProfile
from opsai.permissions import role_names

# The lifetimes a person may pick; TOKEN_MAX_DAYS caps them and is always one of them.
LIFETIME_STEPS = (7, 30, 90)
DEFAULT_LIFETIME_DAYS = 30


def token_lifetime_choices() -> list[int]:
    """The token lifetimes on offer, in days: the usual steps up to ``TOKEN_MAX_DAYS``."""
    most = settings.TOKEN_MAX_DAYS
    return sorted({days for days in LIFETIME_STEPS if days <= most} | {most})


def token_default_lifetime() -> int:
    """30 days, or the longest lifetime on offer when ``TOKEN_MAX_DAYS`` is shorter."""
    return min(DEFAULT_LIFETIME_DAYS, settings.TOKEN_MAX_DAYS)


def api_token_list(*, user: Any) -> QuerySet[ApiToken]:
    """``user``'s tokens that still work (knox deletes expired ones when it meets them)."""
    live = Q(expiry__isnull=True) | Q(expiry__gt=timezone.now())
    return ApiToken.objects.filter(live, user=user).order_by("-created")


def api_token_get_own(*, user: Any, uid: str) -> ApiToken:
    """``user``'s own token ``uid``; 404 for anyone else's, so none is seen to exist."""
    return get_object_or_404(ApiToken.objects.filter(user=user), uid=uid)


def person_roles(*, user: Any) -> dict[str, Any]:
    """``user``'s roles for display, a reviewer's specialty ("" when none) and whether
    they get the weekly "Needs you" email."""
    profile = UserProfile.objects.filter(user=user).first()
    return {
        "roles": role_names(user),
        "specialty": profile.get_reviewer_specialty_display() if profile else "",
        # No profile yet is the default: the weekly digest on.
        "weekly_digest": profile.weekly_digest if profile else True,
    }
