"""Refusals in words: a refused page or API call says why, for the role in hand, and
never shows a permission's codename; separation of duties says so."""

from __future__ import annotations

import re

import pytest
import rules
from django.urls import reverse
from rest_framework.test import APIClient

from governance.models import Review
from opsai.permissions import LAST_RESORT, refusal, refusal_fallback
from tests.factories import TeamFactory, UseCaseFactory
from tests.governance.factories import use_case_like
from tests.usecases.factories import score_for_review
from usecases.services import usecase_move_stage

pytestmark = pytest.mark.django_db

SEPARATION = (
    "Separation of duties: you submitted this use case, so someone else must sign off its review."
)
CODENAME = re.compile(r"\b[a-z]+\.[a-z_]+\b")


def assert_no_codename(text: str) -> None:
    """No registered permission's codename (``usecases.add_usecase``) in ``text``."""
    named = set(CODENAME.findall(text)) & set(rules.permissions.permissions)
    assert not named, f"codenames shown: {named}"


def test_every_registered_permission_has_words():
    """GIVEN every permission any app registered WHEN asked for its words THEN each has a
    fallback sentence of its own, not the last resort, and none names a codename."""
    permissions = sorted(rules.permissions.permissions)
    assert "usecases.add_usecase" in permissions and "governance.sign_off" in permissions
    missing = [name for name in permissions if not refusal_fallback(name)]
    assert missing == []
    for name in permissions:
        sentence = refusal_fallback(name)
        assert sentence != LAST_RESORT and sentence.endswith(".")
        assert_no_codename(sentence)


def test_an_unknown_permission_gets_the_last_resort_without_its_codename(ops_lead):
    assert refusal(ops_lead, "nowhere.do_magic") == LAST_RESORT
    assert "nowhere" not in LAST_RESORT


def test_an_executive_opening_intake_is_told_executives_read(client, executive):
    """GIVEN an executive WHEN they open the intake page THEN a 403 says executives read,
    links home, and names no codename."""
    client.force_login(executive)
    response = client.get("/usecases/new/")
    assert response.status_code == 403
    text = response.content.decode()
    assert "Executives read; they do not submit use cases." in text
    assert f'href="{reverse("home")}"' in text
    assert_no_codename(text)


def test_the_api_refuses_an_executive_in_the_same_words(executive):
    client = APIClient()
    client.force_authenticate(executive)
    response = client.post("/api/usecases/", {"title": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("Executives read; they do not")
    assert_no_codename(str(response.json()))


def test_a_reviewer_is_told_who_submits_use_cases(client, make_user):
    reviewer = make_user("Reviewer", username="rita", specialty="security")
    client.force_login(reviewer)
    response = client.get("/usecases/new/")
    assert response.status_code == 403
    assert "Ops leads and admins submit use cases; you are a reviewer." in response.content.decode()


def test_a_reviewer_refused_through_the_api_hears_the_same(make_user):
    """GIVEN a reviewer WHEN they create a use case through the API THEN the 403's detail is
    the sentence the page would show (the API's exception handler keeps it)."""
    reviewer = make_user("Reviewer", username="rita", specialty="security")
    client = APIClient()
    client.force_authenticate(reviewer)
    response = client.post("/api/usecases/", {"title": "x"}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Ops leads and admins submit use cases; you are a reviewer."
    }


def test_a_product_owner_of_another_unit_is_told_whose_stages_they_are(client, make_user):
    """GIVEN a use case of a unit with a named product owner WHEN another product owner
    moves its stage THEN they are told only that unit's product owner (or an admin) may."""
    named = make_user("Product owner", username="nora")
    other = make_user("Product owner", username="otto")
    team = TeamFactory(name="Claims", product_owner=named)
    use_case = UseCaseFactory(team=team)
    client.force_login(other)
    response = client.post(
        reverse("usecases:move_stage", args=[use_case.pk]), {"to_stage": "pilot"}
    )
    assert response.status_code == 403
    text = response.content.decode()
    assert "Only the product owner of Claims (or an admin) moves its stages." in text
    assert_no_codename(text)


def test_a_user_without_a_role_is_told_to_ask_for_one(roleless_user):
    assert "no opsai role" in refusal(roleless_user, "usecases.add_usecase")
    client = APIClient()
    client.force_authenticate(roleless_user)
    response = client.get("/api/usecases/")
    assert response.status_code == 403
    assert "no opsai role" in response.json()["detail"]


@pytest.fixture
def submitted_review(ops_lead):
    """A review of a use case the ops lead submitted and owns (ops leads give no sign-off)."""
    use_case = use_case_like("support_triage", submitted_by=ops_lead, owner=ops_lead)
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=ops_lead)
    return Review.objects.get(use_case=use_case, status="open")


def test_the_submitters_sign_off_on_the_page_says_separation_of_duties(
    client, ops_lead, submitted_review
):
    """GIVEN a review of a use case the ops lead submitted WHEN they post a sign-off THEN the
    403 says separation of duties, not a codename, and nothing is signed."""
    sign_off = submitted_review.sign_offs.get(role="product_owner")
    client.force_login(ops_lead)
    response = client.post(
        reverse("governance:review_sign_off", args=[submitted_review.pk, sign_off.pk]),
        {f"signoff{sign_off.pk}-decision": "approved", f"signoff{sign_off.pk}-comment": "mine"},
    )
    assert response.status_code == 403
    text = response.content.decode()
    assert SEPARATION in text
    assert_no_codename(text)
    sign_off.refresh_from_db()
    assert sign_off.decision == "pending"


def test_the_submitters_sign_off_through_the_api_says_separation_of_duties(
    ops_lead, submitted_review
):
    client = APIClient()
    client.force_authenticate(ops_lead)
    response = client.post(
        f"/api/reviews/{submitted_review.pk}/sign-off/",
        {"role": "product_owner", "decision": "approved", "comment": "mine"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json() == {"detail": SEPARATION}
    assert submitted_review.sign_offs.get(role="product_owner").decision == "pending"


def test_an_owner_who_did_not_submit_hears_they_own_it(make_user):
    submitter = make_user("Ops lead", username="sam")
    owner = make_user("Ops lead", username="olga")
    use_case = use_case_like("support_triage", submitted_by=submitter, owner=owner)
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=owner)
    review = Review.objects.get(use_case=use_case, status="open")
    assert refusal(owner, "governance.sign_off", review) == (
        "Separation of duties: you own this use case, so someone else must sign off its review."
    )
    assert refusal(make_user("Ops lead", username="pat"), "governance.sign_off", review) == (
        "Product owners and reviewers sign off reviews; you are an ops lead."
    )


def test_an_executive_is_told_they_do_not_sign_off(executive, submitted_review):
    assert refusal(executive, "governance.sign_off", submitted_review) == (
        "Executives read; they do not sign off reviews."
    )


@pytest.mark.parametrize(
    ("role", "specialty"),
    [("Executive", ""), ("Reviewer", "legal"), ("Product owner", ""), ("Ops lead", "")],
)
def test_no_refused_page_shows_a_codename(client, make_user, role, specialty):
    """GIVEN each role WHEN it GETs and POSTs every page (objects numbered 1) THEN every
    refusal among the answers is in words: a sentence, and no codename."""
    from tests.opsai.test_every_page import PAGES

    client.force_login(make_user(role, username="someone", specialty=specialty))
    refused = 0
    for path in PAGES:
        for response in (client.get(path), client.post(path)):
            if response.status_code != 403:
                continue
            refused += 1
            text = response.content.decode()
            assert_no_codename(text)
            reason = response.context["reason"]
            assert reason.endswith(".") and reason != LAST_RESORT, (path, reason)
    assert refused, "no page refused this role: the walk proves nothing"
