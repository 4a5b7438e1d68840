"""factory_boy factories shared by every app's tests."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from opsai.models import UserProfile
from opsai.roles import role_group
from usecases.models import Team, UseCase

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save()


def user_with_role(role: str | None, *, username: str | None = None, specialty: str = "") -> Any:
    """A user in the group ``role`` (``None`` for no role), with a reviewer specialty."""
    user = UserFactory(**({"username": username} if username else {}))
    if role:
        user.groups.add(role_group(role))
    UserProfile.objects.update_or_create(user=user, defaults={"reviewer_specialty": specialty})
    return user


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = "Support"


class UseCaseFactory(factory.django.DjangoModelFactory):
    """A submitted use case (seen by every role); ``submitted_at=None`` makes a private draft."""

    class Meta:
        model = UseCase

    title = factory.Sequence(lambda n: f"Use case {n}")
    team = factory.SubFactory(TeamFactory)
    business_outcome = "Reduce average handle time by 15%"
    submitted_at = factory.LazyFunction(timezone.now)
