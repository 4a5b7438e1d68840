"""Incidents follow the playbook; one cannot close until its review names the rule it changed."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from governance.services import incident_close, incident_open, incident_step_update
from kpis.models import Annotation
from tests.governance.factories import use_case_like, worker_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(owner_po):
    use_case = use_case_like("support_triage", stage="production")
    worker = worker_for(use_case, owner_po)
    return incident_open(
        use_case=use_case, worker=worker, actor=owner_po, title="Wrong refund emails",
        severity="high", what_happened="42 customers got a refund amount that was not theirs.",
        affected="Tickets 1001-1042", affected_count=42,
    )  # fmt: skip


def test_it_opens_with_the_playbook_steps(incident):
    assert list(incident.steps.values_list("kind", flat=True)) == [
        "stop", "contain", "correct", "reconcile", "review",
    ]  # fmt: skip
    assert Annotation.objects.filter(kind="incident", use_case=incident.use_case).exists()


def test_each_step_records_owner_and_time(incident, owner_po, it_reviewer):
    contain = incident.steps.get(kind="contain")
    incident_step_update(
        step=contain, actor=owner_po, owner=it_reviewer, notes="42 found", done=True
    )
    contain.refresh_from_db()
    assert (contain.owner, contain.done_by) == (it_reviewer, owner_po)
    assert contain.done_at is not None


def test_it_cannot_close_without_its_review_naming_the_rule_change(incident, owner_po):
    with pytest.raises(ValidationError, match="post-incident review step must be done"):
        incident_close(incident=incident, actor=owner_po)
    review = incident.steps.get(kind="review")
    with pytest.raises(ValidationError, match="Name the rule this review changed"):
        incident_step_update(step=review, actor=owner_po, done=True, rule_change="")
    review.refresh_from_db()
    assert review.done_at is None
    incident_step_update(
        step=review, actor=owner_po, done=True, rule_change="human approval above 500"
    )
    closed = incident_close(incident=incident, actor=owner_po)
    assert (closed.status, closed.rule_change) == ("closed", "human approval above 500")
    assert (
        AuditEvent.objects.get(action="incident.closed").after["rule_change"]
        == "human approval above 500"
    )


def test_saying_none_is_a_valid_review(incident, owner_po):
    incident_step_update(
        step=incident.steps.get(kind="review"), actor=owner_po, done=True, rule_change="none"
    )
    assert incident_close(incident=incident, actor=owner_po).status == "closed"
