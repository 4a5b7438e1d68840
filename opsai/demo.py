"""Demo data for trying opsai out: users for every role, teams, the five seed use cases.

Loaded only by ``manage.py load_demo`` (``make run`` calls it), never by a
migration, so a production install has no demo users. Safe to run twice. Each app
may add its own demo data in ``<app>/demo.py`` with a ``load(users)`` function, and say
what is there with a ``counts()`` function (:func:`demo_summary_line` reads it).
"""

from __future__ import annotations

import importlib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from opsai.models import UserProfile
from opsai.roles import ReviewerSpecialty, Role, role_group

DEMO_PASSWORD = "opsai-demo"  # noqa: S105 - documented demo password, demo data only

# username: (role, reviewer specialty, full name)
DEMO_USERS: dict[str, tuple[Role, str, str]] = {
    "ops": (Role.OPS_LEAD, "", "Olivia Ops"),
    "exec": (Role.EXECUTIVE, "", "Evan Exec"),
    "owner": (Role.PRODUCT_OWNER, "", "Priya Owner"),
    "it": (Role.REVIEWER, ReviewerSpecialty.IT_PLATFORM, "Ian Platform"),
    "security": (Role.REVIEWER, ReviewerSpecialty.SECURITY, "Sam Security"),
    "legal": (Role.REVIEWER, ReviewerSpecialty.LEGAL, "Lena Legal"),
    "admin": (Role.ADMIN, "", "Ada Admin"),
}

DEMO_APPS = ["usecases", "kpis", "governance"]


def _demo_modules() -> list[Any]:
    """Each app's ``demo`` module, lowest app first (an app without one is skipped)."""
    modules = []
    for app in DEMO_APPS:
        try:
            modules.append(importlib.import_module(f"{app}.demo"))
        except ModuleNotFoundError:
            continue
    return modules


@transaction.atomic
def demo_load() -> dict[str, Any]:
    """Create (or refresh) the demo users, then let each app add its demo data."""
    users = {username: _demo_user(username, *spec) for username, spec in DEMO_USERS.items()}
    summary: dict[str, Any] = {"users": sorted(users)}
    for module in _demo_modules():
        summary[module.__name__.split(".")[0]] = module.load(users)
    return summary


def _counted(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def demo_summary_line() -> str:
    """One line saying what the demo holds and how to sign in, e.g. ``Demo loaded: 5 use
    cases, …, 7 users (ops, exec, …; password opsai-demo) — sign in at http://…/``.

    The address is ``settings.SITE_URL``: what ``make run`` serves on (its ``PORT``).
    """
    parts = [_counted(*count) for module in _demo_modules() for count in module.counts()]
    users = _counted(len(DEMO_USERS), "user", "users")
    parts.append(f"{users} ({', '.join(DEMO_USERS)}; password {DEMO_PASSWORD})")
    return f"Demo loaded: {', '.join(parts)} — sign in at {settings.SITE_URL}/"


def _demo_user(username: str, role: Role, specialty: str, full_name: str) -> Any:
    User = get_user_model()
    first, last = full_name.split(" ", 1)
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
    )
    if created or not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save()
    if role == Role.ADMIN and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.add(role_group(role))
    UserProfile.objects.update_or_create(user=user, defaults={"reviewer_specialty": specialty})
    return user
