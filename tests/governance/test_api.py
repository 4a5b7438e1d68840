"""Governance API: lanes, reviews and sign-offs, workers with pause/resume, releases, incidents, audit."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from governance.models import AIWorker, Review
from tests.governance.factories import CHECKLIST_ANSWERS, use_case_like, worker_for
from tests.usecases.factories import score_for_review
from usecases.services import usecase_move_stage

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_lanes_are_readable_with_their_rule_and_reason(executive):
    use_case = use_case_like("support_triage")
    body = _client(executive).get("/api/lanes/").json()
    row = next(r for r in body["results"] if r["use_case"] == use_case.pk)
    assert (row["lane"], row["rule"], row["policy_version"]) == (
        "reviewed",
        "Customer-facing text",
        1,
    )
    assert _client(executive).get(f"/api/lanes/{use_case.pk}/").json()["lane"] == "reviewed"


def test_reviews_are_answered_and_signed_off_through_the_api(submitter, reviewers):
    use_case = use_case_like("support_triage", submitted_by=submitter, owner=submitter)
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=submitter)
    review = Review.objects.get()
    for key, answer in CHECKLIST_ANSWERS.items():
        response = _client(submitter).post(
            f"/api/reviews/{review.pk}/checklist/",
            {"key": key, "answer": answer, "evidence_links": ["https://example.com/e"]},
            format="json",
        )
        assert response.status_code == 200, response.json()
    refused = _client(submitter).post(
        f"/api/reviews/{review.pk}/sign-off/",
        {"role": "product_owner", "decision": "approved", "comment": "mine"},
        format="json",
    )
    assert refused.status_code == 400
    assert "Separation of duties" in str(refused.json())
    for role, user in reviewers.items():
        response = _client(user).post(
            f"/api/reviews/{review.pk}/sign-off/",
            {"role": role, "decision": "approved", "comment": "ok"},
            format="json",
        )
        assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    assert response.json()["decision_snapshot"]["use_case"]["audience"] == "customer_facing"


def test_the_kill_switch_through_the_api(owner_po, it_reviewer, executive):
    use_case = use_case_like("support_triage", stage="approved")
    worker = worker_for(use_case, owner_po)
    assert (
        _client(executive).post(f"/api/workers/{worker.pk}/pause/", {"reason": "x"}).status_code
        == 403
    )
    response = _client(it_reviewer).post(f"/api/workers/{worker.pk}/pause/", {"reason": "Drift"})
    assert response.json()["status"] == "paused"
    assert _client(it_reviewer).post(f"/api/workers/{worker.pk}/resume/").status_code == 403
    assert _client(owner_po).post(f"/api/workers/{worker.pk}/resume/").json()["status"] == "active"


def test_workers_and_releases_are_created_and_rolled_back(owner_po, executive):
    use_case = use_case_like("support_triage", stage="approved")
    data = {
        "use_case": use_case.pk, "name": "Router", "tasks_handled": "Routes", "human_role": "Leads check",
        "model_name": "m", "model_version": "1", "autonomy": "suggest", "escalation_contacts": ["a@example.com"],
    }  # fmt: skip
    assert _client(executive).post("/api/workers/", data, format="json").status_code == 403
    created = _client(owner_po).post("/api/workers/", data, format="json")
    assert created.status_code == 201, created.json()
    worker_id, token = created.json()["id"], created.json()["runtime_token"]
    assert AIWorker.objects.get(pk=worker_id).runtime_token_hash == AIWorker.hash_token(token)
    first = _client(owner_po).post("/api/releases/", {"worker": worker_id, "version": "1.0"}).json()
    second = (
        _client(owner_po).post("/api/releases/", {"worker": worker_id, "version": "1.1"}).json()
    )
    assert _client(owner_po).get(f"/api/workers/{worker_id}/").json()["current_version"] == "1.1"
    assert _client(owner_po).post(f"/api/releases/{second['id']}/rollback/").status_code == 201
    assert (
        _client(owner_po).get(f"/api/workers/{worker_id}/").json()["current_version"]
        == first["version"]
    )
    bad = _client(owner_po).patch(
        f"/api/workers/{worker_id}/", {"escalation_contacts": ["nope"]}, format="json"
    )
    assert bad.status_code == 400 and "escalation_contacts" in bad.json()


def test_incidents_through_the_api(owner_po):
    use_case = use_case_like("support_triage", stage="approved")
    client = _client(owner_po)
    incident = client.post(
        "/api/incidents/",
        {
            "use_case": use_case.pk,
            "title": "Wrong refund",
            "severity": "high",
            "what_happened": "x",
        },
    ).json()
    assert client.post(f"/api/incidents/{incident['id']}/close/").status_code == 400
    client.post(
        f"/api/incidents/{incident['id']}/step/",
        {"kind": "review", "done": True, "rule_change": "human approval above 500"},
    )
    closed = client.post(f"/api/incidents/{incident['id']}/close/").json()
    assert (closed["status"], closed["rule_change"]) == ("closed", "human approval above 500")


def test_audit_events_are_read_only_and_filterable(owner_po, executive, roleless_user):
    use_case_like("support_triage")
    client = _client(executive)
    body = client.get("/api/audit-events/", {"action": "lane.assigned"}).json()
    assert body["count"] == 1
    assert client.post("/api/audit-events/", {}).status_code in (403, 405)
    assert _client(roleless_user).get("/api/audit-events/").status_code == 403


def test_an_incident_step_owner_who_is_not_a_user_with_a_role_is_a_400_naming_owner(
    owner_po, roleless_user
):
    use_case = use_case_like("support_triage", stage="approved")
    client = _client(owner_po)
    incident = client.post(
        "/api/incidents/",
        {
            "use_case": use_case.pk,
            "title": "Wrong refund",
            "severity": "high",
            "what_happened": "x",
        },
    ).json()
    url = f"/api/incidents/{incident['id']}/step/"
    for owner in (999999, roleless_user.pk, "abc"):
        bad = client.post(url, {"kind": "contain", "owner": owner, "notes": "half"})
        assert bad.status_code == 400 and "owner" in bad.json(), owner
    assert not AuditEvent.objects.filter(action="incident.step_updated").exists()
    good = client.post(url, {"kind": "contain", "owner": owner_po.pk}).json()
    contain = next(step for step in good["steps"] if step["kind"] == "contain")
    assert contain["owner"] == str(owner_po)


def test_a_sign_off_the_review_does_not_need_is_a_400_naming_role(submitter, reviewers):
    internal = use_case_like("quote_to_cash_exceptions", submitted_by=submitter, owner=submitter)
    score_for_review(internal)
    usecase_move_stage(use_case=internal, to_stage="review", actor=submitter)
    review = Review.objects.get(use_case=internal)
    response = _client(reviewers["legal"]).post(
        f"/api/reviews/{review.pk}/sign-off/",
        {"role": "legal", "decision": "approved", "comment": "ok"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"role": ["This review needs no Legal & compliance sign-off."]}
