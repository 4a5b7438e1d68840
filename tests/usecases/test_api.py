"""The use-case API: same rules as the pages, and a fixed query count for the list."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.usecases.factories import make_use_case, rate
from usecases.models import Score, Team, UseCase
from usecases.scoring import CRITERION_KEYS

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def sheet_json(*values):
    data = dict(zip(CRITERION_KEYS, values, strict=True))
    data.update({f"{key}_rationale": "because" for key in CRITERION_KEYS})
    return data


@pytest.mark.parametrize("n", [1, 15])
def test_the_list_runs_a_fixed_number_of_queries(
    api, ops_lead, make_user, django_assert_num_queries, n
):
    scorer = make_user("Ops lead", username=f"scorer{n}")
    for i in range(n):
        rate(make_use_case(ops_lead, title=f"Case {i}"), scorer, 3, 3, 3, 3, 1 + i % 5)
    api.force_authenticate(ops_lead)
    # groups, scoring model, page count, the ranked rows
    with django_assert_num_queries(4):
        response = api.get("/api/usecases/?radar_hit=true")
    assert response.data["count"] == n


def test_it_lists_ranked_rows_with_flags_and_a_labelled_estimate(api, executive, ops_lead):
    use_case = make_use_case(ops_lead)
    rate(use_case, ops_lead, 5, 4, 4, 5, 4)
    api.force_authenticate(executive)
    (row,) = api.get("/api/usecases/").data["results"]
    assert row["score"] == 4.45
    assert row["flags"] == {
        "radar_hit": True, "quick_win": True, "political_thriller": False,
        "needs_calibration": False,
    }  # fmt: skip
    assert row["value_estimate"] == {
        "label": "estimate",
        "hours_per_year": 4680,
        "cost_per_year": 210600,
    }
    assert api.get(f"/api/usecases/{use_case.pk}/").data["title"] == "Collections outreach"
    assert api.get("/api/usecases/?quick_win=false").data["count"] == 0


def test_ops_leads_create_from_a_template_and_submit(api, ops_lead):
    Team.objects.create(name="Finance")
    api.force_authenticate(ops_lead)
    response = api.post(
        "/api/usecases/",
        {"title": "Outreach", "team": "Finance", "template_key": "collections_outreach"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["is_draft"] is True
    assert response.data["owner"] == "ops"
    pk = response.data["id"]
    response = api.post(f"/api/usecases/{pk}/submit/")
    assert response.status_code == 400
    assert response.data["problem"] == ["Problem is required to submit."]
    assert UseCase.objects.get(pk=pk).is_draft


def test_a_bad_create_names_the_field_and_saves_nothing(api, ops_lead):
    api.force_authenticate(ops_lead)
    response = api.post(
        "/api/usecases/", {"title": "X", "team": "Nowhere", "rework_share": "2"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.data) >= {"team", "rework_share"}
    assert not UseCase.objects.exists()


def test_the_owner_updates_their_draft_and_others_are_refused(api, ops_lead, make_user):
    draft = make_use_case(ops_lead, submit=False)
    api.force_authenticate(make_user("Ops lead", username="other"))
    # Someone else's draft is private: not even its existence is revealed.
    assert api.patch(f"/api/usecases/{draft.pk}/", {"approvals_needed": 2}).status_code == 404
    api.force_authenticate(ops_lead)
    response = api.patch(f"/api/usecases/{draft.pk}/", {"approvals_needed": 2}, format="json")
    assert response.status_code == 200, response.data
    draft.refresh_from_db()
    assert draft.approvals_needed == 2
    assert AuditEvent.objects.filter(action="usecase.updated").exists()


def test_scores_are_submitted_and_stay_blind_for_others(api, ops_lead, make_user):
    use_case = make_use_case(ops_lead)
    api.force_authenticate(ops_lead)
    response = api.post(
        f"/api/usecases/{use_case.pk}/scores/", sheet_json(5, 4, 4, 5, 4), format="json"
    )
    assert response.status_code == 201, response.data
    assert response.data["weighted_score"] == "4.45"
    assert response.data["scoring_model_version"] == 1
    assert len(api.get(f"/api/usecases/{use_case.pk}/scores/").data) == 1
    api.force_authenticate(make_user("Ops lead", username="other"))
    blind = api.get(f"/api/usecases/{use_case.pk}/scores/")
    assert blind.status_code == 403
    assert blind.data["submitted"] == 1


@pytest.mark.parametrize("role", ["Executive", "Product owner", None])
def test_only_ops_leads_and_admins_score_through_the_api(api, ops_lead, make_user, role):
    use_case = make_use_case(ops_lead)
    api.force_authenticate(make_user(role, username="someone"))
    response = api.post(
        f"/api/usecases/{use_case.pk}/scores/", sheet_json(3, 3, 3, 3, 3), format="json"
    )
    assert response.status_code == 403
    assert not Score.objects.exists()


def test_the_teams_product_owner_moves_stages_through_the_api(api, ops_lead, product_owner):
    """GIVEN a submitted use case (in scoring: submitting moved it there)
    WHEN its team's product owner moves it through the API
    THEN a move the lifecycle does not allow, or one missing its scores, is a 400 naming
    each condition (with its link); once scored it moves to review."""
    use_case = make_use_case(ops_lead)
    assert use_case.stage == "scoring"
    Team.objects.filter(pk=use_case.team_id).update(product_owner=product_owner)
    api.force_authenticate(ops_lead)
    assert api.post(f"/api/usecases/{use_case.pk}/move/", {"to_stage": "review"}).status_code == 403
    api.force_authenticate(product_owner)
    response = api.post(f"/api/usecases/{use_case.pk}/move/", {"to_stage": "production"})
    assert response.status_code == 400
    assert "Cannot move from Scoring to Production" in response.data["stage"][0]
    assert response.data["conditions"] == [{"condition": response.data["stage"][0], "url": ""}]
    response = api.post(f"/api/usecases/{use_case.pk}/move/", {"to_stage": "review"})
    assert response.status_code == 400
    assert response.data["conditions"][0]["url"].endswith(f"/usecases/{use_case.pk}/#score")
    rate(use_case, ops_lead, 4, 4, 4, 4, 4)
    response = api.post(f"/api/usecases/{use_case.pk}/move/", {"to_stage": "review"})
    assert response.status_code == 200, response.data
    assert response.data["stage"] == "approved"  # the Allowed lane goes straight on


def test_executives_and_role_less_users_cannot_write(api, executive, roleless_user, ops_lead):
    use_case = make_use_case(ops_lead)
    api.force_authenticate(executive)
    assert api.patch(f"/api/usecases/{use_case.pk}/", {"title": "x"}).status_code == 403
    api.force_authenticate(roleless_user)
    assert api.get("/api/usecases/").status_code == 403


def test_the_list_hides_the_score_from_scorers_who_have_not_scored(api, ops_lead, make_user):
    use_case = make_use_case(ops_lead)
    rate(use_case, make_user("Ops lead", username="first"), 5, 5, 5, 5, 5)
    api.force_authenticate(ops_lead)
    (row,) = api.get("/api/usecases/").data["results"]
    assert row["score_blind"] is True
    assert row["score"] is None
    assert row["flags"]["quick_win"] is None
    rate(use_case, ops_lead, 3, 3, 3, 3, 3)
    (row,) = api.get("/api/usecases/").data["results"]
    assert row["score_blind"] is False
    assert row["score"] == 4.0


def test_the_api_imports_all_rows_or_none(api, ops_lead, executive):
    from django.core.files.uploadedfile import SimpleUploadedFile

    Team.objects.create(name="Finance")
    api.force_authenticate(ops_lead)
    bad = SimpleUploadedFile(
        "u.csv", b"title,team,cases_per_week\nGood,Finance,10\nBad,Finance,many\n"
    )
    response = api.post("/api/usecases/import/", {"file": bad}, format="multipart")
    assert response.status_code == 400
    assert response.data["errors"] == ["Line 3: Cases per week: Enter a whole number."]
    assert not UseCase.objects.exists()
    good = SimpleUploadedFile("u.csv", b"title,team\nGood,Finance\n")
    response = api.post("/api/usecases/import/", {"file": good}, format="multipart")
    assert response.data == {"created": 1, "updated": 0}
    api.force_authenticate(executive)
    again = SimpleUploadedFile("u.csv", b"title,team\nGood,Finance\n")
    assert api.post("/api/usecases/import/", {"file": again}, format="multipart").status_code == 403
