"""Models shared by every app: the user's profile (reviewer specialty)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from opsai.roles import ReviewerSpecialty


class UserProfile(models.Model):
    """What opsai knows about a user beyond Django's auth user.

    Roles are groups; a reviewer's specialty decides which sign-offs they give.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    reviewer_specialty = models.CharField(
        max_length=20, choices=ReviewerSpecialty.choices, blank=True
    )

    def __str__(self) -> str:
        return f"Profile of {self.user}"
