"""The weekly "Needs you" email: each person's list from ``opsai.needs``, once a week.

Sent on Monday morning (beat) to each active person with a role and an email address
who has not turned it off (``UserProfile.weekly_digest``, on their profile page) and
has something waiting. A person's week is claimed with a conditional UPDATE of
``digest_sent_week`` in the same transaction as the outbox row of their email, so a
second run in the same week (beat twice, a retry) sends nothing twice.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from opsai import formatting
from opsai.mail import absolute_url, mail_on_commit
from opsai.models import UserProfile
from opsai.needs import NeedGroup, needs_for, needs_total

# Each group lists this many items in the email; the rest are behind its "see all" link.
DIGEST_ITEMS = 5


def digest_recipients() -> QuerySet[Any]:
    """Active people with a role and an email address who have not turned the digest off."""
    return (
        get_user_model()
        .objects.filter(Q(groups__isnull=False) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
        .exclude(profile__weekly_digest=False)
        .distinct()
        .order_by("pk")
    )


def digest_week(day: date | None = None) -> date:
    """The Monday of ``day``'s week (today's by default)."""
    day = day or timezone.localdate()
    return day - timedelta(days=day.weekday())


def needs_digest_send(*, day: date | None = None) -> int:
    """Record this week's digest email for every recipient with something waiting;
    returns how many emails were recorded (0 on a second run in the same week)."""
    week = digest_week(day)
    sent = 0
    for user in digest_recipients().iterator(chunk_size=200):
        groups = needs_for(user, limit=DIGEST_ITEMS) + needs_for(
            user, limit=DIGEST_ITEMS, decision=True
        )
        if groups and _send_once(user, groups, week):
            sent += 1
    return sent


@transaction.atomic
def _send_once(user: Any, groups: list[NeedGroup], week: date) -> bool:
    profile, _ = UserProfile.objects.get_or_create(user=user)
    claimed = (
        UserProfile.objects.filter(pk=profile.pk)
        .exclude(digest_sent_week=week)
        .update(digest_sent_week=week)
    )
    if not claimed:
        return False
    total = needs_total(groups)
    context = {
        "user": user,
        "groups": groups,
        "total": total,
        "week": week,
        # Mail clients have no page to be relative to: every link is absolute.
        "site_url": settings.SITE_URL,
        "home_url": absolute_url(reverse("home")),
        "profile_url": absolute_url(reverse("accounts:profile")),
    }
    mail_on_commit(
        subject=f"[opsai] {formatting.count_noun(total, 'thing')} "
        f"need{'' if total != 1 else 's'} you this week ({formatting.date(week)})",
        body=render_to_string("opsai/needs_digest.txt", context),
        html=render_to_string("opsai/needs_digest.html", context),
        recipients=[user.email],
    )
    return True
