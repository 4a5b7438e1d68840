"""The roles of opsai. Each is a Django group, created by a data migration."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import models


class Role(models.TextChoices):
    OPS_LEAD = "Ops lead", "Ops lead"
    EXECUTIVE = "Executive", "Executive"
    PRODUCT_OWNER = "Product owner", "Product owner"
    REVIEWER = "Reviewer", "Reviewer"
    ADMIN = "Admin", "Admin"


class ReviewerSpecialty(models.TextChoices):
    """Which risk a reviewer signs off for (seed section 5, "clear ownership")."""

    IT_PLATFORM = "it_platform", "IT platform"
    SECURITY = "security", "Security"
    LEGAL = "legal", "Legal & compliance"


def role_group(role: str) -> Group:
    """The group of ``role``; recreated if missing (the migration makes them all)."""
    group, _ = Group.objects.get_or_create(name=str(role))
    return group
