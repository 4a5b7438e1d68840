"""Lane policy: each default rule, the safe default, recompute on change, reopen on a stricter lane."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.models import AuditEvent
from governance.models import LaneAssignment, LanePolicy, Review
from governance.selectors import lane_decide, lane_policy_current
from governance.services import lane_policy_create
from tests.factories import UseCaseFactory
from tests.governance.factories import use_case_like
from tests.usecases.factories import score_for_review
from usecases.services import usecase_move_stage, usecase_update

pytestmark = pytest.mark.django_db

BASE = {
    "data_sensitivity": "none",
    "audience": "internal",
    "autonomy": "draft",
    "money_movement": False,
    "vendor_model": False,
    "trains_on_customer_data": False,
    "exports_data": False,
}


@pytest.mark.parametrize(
    ("attributes", "lane", "rule"),
    [
        ({"autonomy": "act", "money_movement": True}, "prohibited", "Autonomous refunds"),
        ({"exports_data": True}, "prohibited", "Unapproved data exports"),
        (
            {"trains_on_customer_data": True, "data_sensitivity": "personal"},
            "prohibited",
            "Training on customer personal data",
        ),
        ({"audience": "customer_facing"}, "reviewed", "Customer-facing text"),
        ({"autonomy": "suggest"}, "reviewed", "Decision support"),
        (
            {"vendor_model": True, "data_sensitivity": "internal"},
            "reviewed",
            "Vendor model touching operational data",
        ),
        ({"data_sensitivity": "personal"}, "reviewed", "Personal data"),
        ({}, "allowed", "Internal drafting and summarising"),
        ({"data_sensitivity": "internal"}, "allowed", "Internal drafting and summarising"),
        ({"audience": "", "autonomy": ""}, "reviewed", "Anything else"),
    ],
)
def test_each_default_rule_decides_its_lane(attributes, lane, rule):
    use_case = UseCaseFactory(**{**BASE, **attributes})
    decided_lane, decided_rule, reason = lane_decide(
        policy=lane_policy_current(), use_case=use_case
    )
    assert (decided_lane, decided_rule.name) == (lane, rule)
    assert f"“{rule}”" in reason


def test_the_seed_use_cases_land_where_the_seed_says():
    lanes = {
        key: use_case_like(key).lane_assignment
        for key in (
            "support_triage",
            "quote_to_cash_exceptions",
            "collections_outreach",
            "marketing_content_ops",
        )
    }
    assert {key: a.lane for key, a in lanes.items()} == {
        "support_triage": "reviewed",
        "quote_to_cash_exceptions": "reviewed",
        "collections_outreach": "allowed",
        "marketing_content_ops": "reviewed",
    }
    assert lanes["support_triage"].rule.name == "Customer-facing text"


def test_the_default_policy_ships_as_version_1():
    policy = LanePolicy.objects.get(version=1)
    assert policy.rules.count() == 12  # the seed's nine and the risk scheme's three
    assert list(policy.rules.values_list("lane", flat=True)[:4]) == ["prohibited"] * 4


def test_it_recomputes_the_lane_when_attributes_change_and_records_why(ops_lead):
    use_case = use_case_like("collections_outreach")
    usecase_update(use_case=use_case, actor=ops_lead, data={"audience": "customer_facing"})
    assignment = LaneAssignment.objects.get(use_case=use_case)
    assert assignment.lane == "reviewed"
    assert "Customer-facing text" in assignment.reason
    event = AuditEvent.objects.filter(action="lane.assigned", object_id=str(use_case.pk)).first()
    assert event.before["lane"] == "allowed"
    assert event.after["lane"] == "reviewed"
    assert event.after["rule"] == "Customer-facing text"


def test_a_stricter_lane_reopens_review_and_sends_it_back(ops_lead):
    """GIVEN an Allowed use case that went straight to approved WHEN it turns customer-facing
    THEN it is Reviewed, a review opens and it is back in review, all audited."""
    use_case = use_case_like("collections_outreach")
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=ops_lead)
    use_case.refresh_from_db()
    assert use_case.stage == "approved"
    assert use_case.stage_changes.last().note == "Allowed lane: no review needed"
    assert not Review.objects.filter(use_case=use_case).exists()

    usecase_update(use_case=use_case, actor=ops_lead, data={"audience": "customer_facing"})

    use_case.refresh_from_db()
    assert use_case.stage == "review"
    review = Review.objects.get(use_case=use_case)
    assert review.status == "open"
    assert review.opened_reason.startswith("Lane moved from Allowed to Reviewed")
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-3:] == ["lane.assigned", "review.opened", "usecase.stage_moved"]


def test_a_prohibited_use_case_cannot_advance(ops_lead):
    use_case = use_case_like("support_triage", autonomy="act", money_movement=True)
    assert use_case.lane_assignment.lane == "prohibited"
    with pytest.raises(ValidationError, match=r"Prohibited lane.*Autonomous refunds"):
        usecase_move_stage(use_case=use_case, to_stage="review", actor=ops_lead)
    use_case.refresh_from_db()
    assert use_case.stage == "scoring"
    usecase_move_stage(use_case=use_case, to_stage="rejected", actor=ops_lead)  # may still leave


def test_a_reviewed_use_case_needs_an_approved_review_to_be_approved(ops_lead):
    use_case = use_case_like("support_triage")
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=ops_lead)
    assert Review.objects.get(use_case=use_case).status == "open"
    with pytest.raises(ValidationError, match="Needs an approved review"):
        usecase_move_stage(use_case=use_case, to_stage="approved", actor=ops_lead)


def test_admins_edit_rules_by_creating_a_new_version(admin_user):
    use_case = use_case_like("collections_outreach")
    rules = [
        {"name": "Everything reviewed", "lane": "reviewed", "conditions": {}, "reason": "Caution."}
    ]
    policy = lane_policy_create(actor=admin_user, note="cautious", rules=rules)
    assert policy.version == 2
    # the old version is untouched: the seed's nine rules and the risk scheme's three
    assert LanePolicy.objects.get(version=1).rules.count() == 12
    assignment = LaneAssignment.objects.get(use_case=use_case)
    assert (assignment.lane, assignment.policy.version) == ("reviewed", 2)


def test_a_bad_rule_is_named_and_nothing_is_saved(admin_user):
    rules = [
        {"name": "Fine", "lane": "allowed", "conditions": {}, "reason": "ok"},
        {"name": "Broken", "lane": "sideways", "conditions": {}, "reason": "?"},
    ]
    with pytest.raises(ValidationError, match="Rule 2 \\(Broken\\)"), transaction.atomic():
        lane_policy_create(actor=admin_user, note="", rules=rules)
    assert LanePolicy.objects.count() == 1
