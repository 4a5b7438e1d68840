"""Demo data: loaded on request only, idempotent, one user per role."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from opsai.demo import DEMO_PASSWORD, DEMO_USERS
from opsai.permissions import role_names
from usecases.models import Team, UseCase

pytestmark = pytest.mark.django_db


def test_migrations_create_the_roles_but_no_users():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Ops lead", "Executive", "Product owner", "Reviewer", "Admin",
    }  # fmt: skip
    assert not get_user_model().objects.exists()


def test_load_demo_creates_users_teams_and_the_five_use_cases_once():
    call_command("load_demo")
    call_command("load_demo")
    User = get_user_model()
    assert set(User.objects.values_list("username", flat=True)) == set(DEMO_USERS)
    for username, (role, specialty, _) in DEMO_USERS.items():
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        assert role.label in role_names(user)
        assert user.profile.reviewer_specialty == specialty
    # the organisation, its three departments and the seed's eight functions (issue 10)
    assert Team.objects.count() == 1 + 3 + 8
    assert Team.objects.get(name="Finance").path_label == "Northwind › Finance & supply › Finance"
    assert sorted(UseCase.objects.values_list("template_key", flat=True)) == [
        "collections_outreach", "marketing_content_ops", "quote_to_cash_exceptions",
        "recruiting_screening", "support_triage",
    ]  # fmt: skip
