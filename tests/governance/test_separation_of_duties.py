"""Separation of duties with a submitter who is NOT the owner and holds the sign-off's role.

Every other separation test has a submitter who also owns the use case, so a rule
that checked only the owner passed them. Here the owner is someone else, and the
submitter holds exactly the reviewer specialty (or the product-owner role) of the
sign-off they try: only ``governance.rules.sign_off_refusal``'s submitter check
refuses them — on the service, the page and the API.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from governance.models import Review
from governance.services import review_checklist_update, review_sign_off
from opsai.roles import role_group
from tests.governance.factories import CHECKLIST_ANSWERS, use_case_like
from tests.usecases.factories import score_for_review
from usecases.services import usecase_move_stage

pytestmark = pytest.mark.django_db

# Each sign-off support triage needs; the product owner's with a team that names none,
# so the submitter (the only product owner) is not refused for another reason.
ROLES = ["product_owner", "it_platform", "security", "legal"]


@pytest.fixture
def owner(make_user):
    return make_user("Ops lead", username="olga")


def _submitter_holding(make_user, role):
    """An ops lead who submitted the use case and holds the role of the ``role`` sign-off."""
    if role == "product_owner":
        user = make_user("Product owner", username="sid")
    else:
        user = make_user("Reviewer", username="sid", specialty=role)
    user.groups.add(role_group("Ops lead"))
    return user


def _review(submitter, owner):
    use_case = use_case_like("support_triage", submitted_by=submitter, owner=owner)
    assert use_case.team.product_owner_id is None
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=owner)
    return Review.objects.get(use_case=use_case, status="open")


@pytest.mark.parametrize("role", ROLES)
def test_the_service_refuses_a_submitter_who_is_not_the_owner(make_user, owner, role):
    """GIVEN a use case submitted by someone holding the sign-off's role, owned by another
    WHEN the submitter signs off THEN separation of duties refuses; a peer of theirs may."""
    submitter = _submitter_holding(make_user, role)
    review = _review(submitter, owner)
    for item in review.checklist.all():
        review_checklist_update(
            item=item, actor=owner, answer=CHECKLIST_ANSWERS[item.key],
            evidence_text="See the vendor pack.", evidence_links=["https://example.com/e"],
        )  # fmt: skip
    sign_off = review.sign_offs.get(role=role)
    with pytest.raises(ValidationError, match="Separation of duties"):
        review_sign_off(sign_off=sign_off, actor=submitter, decision="approved", comment="mine")
    sign_off.refresh_from_db()
    assert sign_off.decision == "pending"
    if role == "product_owner":
        peer = make_user("Product owner", username="peer")
    else:
        peer = make_user("Reviewer", username="peer", specialty=role)
    review_sign_off(sign_off=sign_off, actor=peer, decision="approved", comment="Fine.")
    sign_off.refresh_from_db()
    assert sign_off.decision == "approved"


@pytest.mark.parametrize("role", ROLES)
def test_the_page_refuses_a_submitter_who_is_not_the_owner(client, make_user, owner, role):
    submitter = _submitter_holding(make_user, role)
    review = _review(submitter, owner)
    sign_off = review.sign_offs.get(role=role)
    client.force_login(submitter)
    response = client.post(
        reverse("governance:review_sign_off", args=[review.pk, sign_off.pk]),
        {f"signoff{sign_off.pk}-decision": "approved", f"signoff{sign_off.pk}-comment": "mine"},
        follow=True,
    )
    assert "Separation of duties" in response.content.decode()
    sign_off.refresh_from_db()
    assert sign_off.decision == "pending"


@pytest.mark.parametrize("role", ROLES)
def test_the_api_refuses_a_submitter_who_is_not_the_owner(make_user, owner, role):
    submitter = _submitter_holding(make_user, role)
    review = _review(submitter, owner)
    client = APIClient()
    client.force_authenticate(submitter)
    response = client.post(
        f"/api/reviews/{review.pk}/sign-off/",
        {"role": role, "decision": "approved", "comment": "mine"},
        format="json",
    )
    assert response.status_code == 400
    assert "Separation of duties" in str(response.json())
    assert review.sign_offs.get(role=role).decision == "pending"
