"""Reviews: required sign-offs, assignment emails, separation of duties, frozen decisions, re-review."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from governance.models import Review
from governance.services import aiworker_update, review_checklist_update, review_sign_off
from tests.governance.factories import CHECKLIST_ANSWERS, use_case_like, worker_for
from tests.usecases.factories import score_for_review
from usecases.services import usecase_move_stage, usecase_update

EMAIL = "opsai.tasks.email_send"

pytestmark = pytest.mark.django_db


def _in_review(submitter, **overrides):
    use_case = use_case_like("support_triage", submitted_by=submitter, owner=submitter, **overrides)
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=submitter)
    return use_case, Review.objects.get(use_case=use_case, status="open")


def _answer_checklist(review, actor):
    for item in review.checklist.all():
        review_checklist_update(
            item=item,
            actor=actor,
            answer=CHECKLIST_ANSWERS[item.key],
            evidence_text="See the vendor pack.",
            evidence_links=["https://vendor.example.com/trust"],
        )


def _approve_all(review, reviewers):
    for sign_off in review.sign_offs.all():
        review_sign_off(
            sign_off=sign_off, actor=reviewers[sign_off.role], decision="approved", comment="Fine."
        )


def test_required_sign_offs_follow_the_use_case(submitter, reviewers):
    _, customer_facing = _in_review(submitter)
    assert set(customer_facing.sign_offs.values_list("role", flat=True)) == {
        "product_owner", "it_platform", "security", "legal",
    }  # fmt: skip
    internal = use_case_like("quote_to_cash_exceptions", submitted_by=submitter)
    score_for_review(internal)
    usecase_move_stage(use_case=internal, to_stage="review", actor=submitter)
    roles = set(Review.objects.get(use_case=internal).sign_offs.values_list("role", flat=True))
    assert roles == {
        "product_owner",
        "it_platform",
        "security",
    }  # no legal: internal, no personal data


def test_each_sign_off_is_assigned_and_its_reviewer_emailed(submitter, reviewers, run_outbox):
    _, review = _in_review(submitter)
    assert mail.outbox == []  # recorded with the change; a worker sends it
    assert run_outbox(EMAIL) == len(reviewers)
    assignees = {s.role: s.assignee for s in review.sign_offs.all()}
    assert assignees == reviewers  # the team's product owner, never the submitter
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted(u.email for u in reviewers.values())
    assert "Support triage" in mail.outbox[0].subject


def test_the_assignment_email_links_to_the_review_on_the_site(
    submitter, reviewers, settings, run_outbox
):
    settings.SITE_URL = "https://opsai.example.com"
    _, review = _in_review(submitter)
    run_outbox(EMAIL)
    link = f"https://opsai.example.com/governance/reviews/{review.pk}/"
    assert mail.outbox and all(link in message.body for message in mail.outbox)


def test_the_review_approves_only_when_every_sign_off_approves(submitter, reviewers):
    use_case, review = _in_review(submitter)
    _answer_checklist(review, submitter)
    sign_offs = list(review.sign_offs.all())
    for sign_off in sign_offs[:-1]:
        review_sign_off(
            sign_off=sign_off, actor=reviewers[sign_off.role], decision="approved", comment="ok"
        )
    review.refresh_from_db()
    use_case.refresh_from_db()
    assert (review.status, use_case.stage) == ("open", "review")
    last = sign_offs[-1]
    review_sign_off(sign_off=last, actor=reviewers[last.role], decision="approved", comment="ok")
    review.refresh_from_db()
    use_case.refresh_from_db()
    assert (review.status, use_case.stage) == ("approved", "approved")
    assert use_case.stage_changes.last().note == "Review approved"


def test_a_rejection_rejects_the_review(submitter, reviewers):
    _, review = _in_review(submitter)
    legal = review.sign_offs.get(role="legal")
    review_sign_off(
        sign_off=legal, actor=reviewers["legal"], decision="rejected", comment="Terms missing."
    )
    review.refresh_from_db()
    assert review.status == "rejected"
    assert review.decision_snapshot["sign_offs"][3]["comment"] == "Terms missing."


def test_separation_of_duties_refuses_the_submitter_and_the_owner(submitter, reviewers, make_user):
    use_case, review = _in_review(submitter)
    _answer_checklist(review, submitter)
    product_owner_sign_off = review.sign_offs.get(role="product_owner")
    with pytest.raises(ValidationError, match="Separation of duties"):
        review_sign_off(
            sign_off=product_owner_sign_off, actor=submitter, decision="approved", comment="mine"
        )
    # An owner who is a reviewer cannot sign either.
    owner = make_user("Reviewer", username="otto", specialty="security")
    use_case.owner = owner
    use_case.save()
    with pytest.raises(ValidationError, match="Separation of duties"):
        review_sign_off(
            sign_off=review.sign_offs.get(role="security"),
            actor=owner,
            decision="approved",
            comment="x",
        )
    assert not review.sign_offs.exclude(decision="pending").exists()
    assert not AuditEvent.objects.filter(action="review.signed_off").exists()


def test_a_reviewer_of_another_specialty_cannot_sign(submitter, reviewers):
    _, review = _in_review(submitter)
    with pytest.raises(ValidationError, match="Only a Legal & compliance reviewer"):
        review_sign_off(
            sign_off=review.sign_offs.get(role="legal"),
            actor=reviewers["security"],
            decision="approved",
            comment="x",
        )


def test_approval_needs_the_checklist_answered_and_a_comment(submitter, reviewers):
    _, review = _in_review(submitter)
    it = review.sign_offs.get(role="it_platform")
    with pytest.raises(ValidationError, match="missing: Model/vendor risk"):
        review_sign_off(
            sign_off=it, actor=reviewers["it_platform"], decision="approved", comment="ok"
        )
    with pytest.raises(ValidationError, match="Say why"):
        review_sign_off(
            sign_off=it, actor=reviewers["it_platform"], decision="changes_requested", comment=" "
        )


def test_a_bad_evidence_link_is_named_and_nothing_saved(submitter, reviewers):
    _, review = _in_review(submitter)
    item = review.checklist.get(key="monitoring")
    with pytest.raises(ValidationError, match="“not a link” is not a web address"):
        review_checklist_update(
            item=item, actor=submitter, answer="x", evidence_links=["not a link"]
        )
    item.refresh_from_db()
    assert item.answer == ""


def test_the_decision_keeps_a_frozen_copy(submitter, reviewers):
    """GIVEN an approved review WHEN the use case and checklist would change
    THEN the decision's copy still shows what was decided on."""
    use_case, review = _in_review(submitter)
    _answer_checklist(review, submitter)
    _approve_all(review, reviewers)
    review.refresh_from_db()
    frozen = review.decision_snapshot
    assert frozen["use_case"]["audience"] == "customer_facing"
    assert frozen["use_case"]["problem"] == use_case.problem
    assert frozen["checklist"][0]["answer"] == CHECKLIST_ANSWERS["model_vendor_risk"]
    assert {s["decision"] for s in frozen["sign_offs"]} == {"approved"}

    usecase_update(use_case=use_case, actor=submitter, data={"problem": "A different problem now."})

    review.refresh_from_db()
    assert review.decision_snapshot == frozen
    assert review.decision_snapshot["use_case"]["problem"] != "A different problem now."
    with pytest.raises(ValidationError, match="frozen"):
        review_checklist_update(item=review.checklist.first(), actor=submitter, answer="rewritten")


def test_a_change_to_the_use_case_forces_a_new_review(submitter, reviewers):
    use_case, review = _in_review(submitter)
    _answer_checklist(review, submitter)
    _approve_all(review, reviewers)
    usecase_update(
        use_case=use_case, actor=submitter, data={"problem": "Now also handles refunds."}
    )
    use_case.refresh_from_db()
    assert use_case.stage == "review"
    new = Review.objects.get(use_case=use_case, status="open")
    assert "problem" in new.opened_reason
    # Answers carry over so the re-review only looks at what changed.
    assert new.checklist.get(key="monitoring").answer == CHECKLIST_ANSWERS["monitoring"]
    assert new.sign_offs.filter(decision="pending").count() == 4


def test_a_new_model_version_forces_a_new_review(submitter, reviewers, owner_po):
    """GIVEN an approved use case with an AI worker WHEN its model version changes
    THEN a new review opens and the use case goes back to review, with the version audited."""
    use_case, review = _in_review(submitter)
    _answer_checklist(review, submitter)
    _approve_all(review, reviewers)
    worker = worker_for(use_case, owner_po)
    aiworker_update(worker=worker, actor=owner_po, data={"model_version": "2026-06"})
    use_case.refresh_from_db()
    assert use_case.stage == "review"
    new = Review.objects.get(use_case=use_case, status="open")
    assert new.opened_reason == f"Model version of {worker} changed from 2026-01 to 2026-06"
    event = AuditEvent.objects.get(action="aiworker.updated")
    assert (event.before, event.after, event.model_version) == (
        {"model_version": "2026-01"}, {"model_version": "2026-06"}, "2026-06",
    )  # fmt: skip
    # The approved review still says what it approved: no worker existed then.
    review.refresh_from_db()
    assert review.decision_snapshot["ai_workers"] == []


def test_an_unchanged_model_does_not_reopen(submitter, reviewers, owner_po):
    use_case, review = _in_review(submitter)
    _answer_checklist(review, submitter)
    _approve_all(review, reviewers)
    worker = worker_for(use_case, owner_po)
    aiworker_update(worker=worker, actor=owner_po, data={"human_approval_threshold": 500})
    assert not Review.objects.filter(use_case=use_case, status="open").exists()


def test_an_open_review_gains_the_sign_offs_a_change_requires(submitter, reviewers):
    internal = use_case_like("quote_to_cash_exceptions", submitted_by=submitter)
    score_for_review(internal)
    usecase_move_stage(use_case=internal, to_stage="review", actor=submitter)
    review = Review.objects.get(use_case=internal)
    assert not review.sign_offs.filter(role="legal").exists()
    usecase_update(use_case=internal, actor=submitter, data={"data_sensitivity": "personal"})
    assert review.sign_offs.get(role="legal").assignee == reviewers["legal"]
    assert AuditEvent.objects.filter(action="review.sign_offs_added").exists()


def test_leaving_review_withdraws_the_open_review(submitter, reviewers):
    use_case, review = _in_review(submitter)
    usecase_move_stage(use_case=use_case, to_stage="rejected", actor=submitter, note="Not now")
    review.refresh_from_db()
    assert review.status == "superseded"
    assert review.decision_snapshot["use_case"]["title"] == "Support triage"
    assert AuditEvent.objects.filter(action="review.withdrawn").exists()


def test_a_reviewer_of_another_specialty_or_a_stranger_product_owner_cannot_sign(
    submitter, reviewers, make_user
):
    """Object-level sign-off rights: security cannot give the legal sign-off, and a product
    owner of another team cannot give this team's product-owner sign-off."""
    from tests.factories import TeamFactory

    stranger = make_user("Product owner", username="olaf")
    TeamFactory(name="Finance", product_owner=stranger)
    _, review = _in_review(submitter)
    _answer_checklist(review, submitter)
    legal = review.sign_offs.get(role="legal")
    with pytest.raises(ValidationError, match="Only a Legal & compliance reviewer"):
        review_sign_off(
            sign_off=legal, actor=reviewers["security"], decision="approved", comment="ok"
        )
    product_owner = review.sign_offs.get(role="product_owner")
    with pytest.raises(ValidationError, match="Only the product owner of the Support team"):
        review_sign_off(sign_off=product_owner, actor=stranger, decision="approved", comment="ok")
    assert set(review.sign_offs.values_list("decision", flat=True)) == {"pending"}
    assert not AuditEvent.objects.filter(action="review.signed_off").exists()
    review_sign_off(
        sign_off=product_owner, actor=reviewers["product_owner"], decision="approved", comment="ok"
    )
