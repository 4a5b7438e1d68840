"""The lifecycle owns the moves: every unmet condition at once, follow-on moves guarded too."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.governance.factories import use_case_like
from tests.usecases.factories import score_for_review, template_data
from usecases import lifecycle
from usecases.choices import Stage
from usecases.models import StageChange, UseCase
from usecases.services import usecase_create, usecase_move_stage

pytestmark = pytest.mark.django_db


def test_every_stage_has_its_moves_and_only_stages_are_named():
    assert set(lifecycle.TRANSITIONS) == set(Stage)
    for moves in lifecycle.TRANSITIONS.values():
        assert all(isinstance(stage, Stage) for stage in moves)
    assert lifecycle.allowed_moves("no-such-stage") == ()


def test_a_refused_move_names_every_unmet_condition_at_once(ops_lead):
    """GIVEN a submitted idea with no KPI stack in the Prohibited lane (it exports data)
    WHEN it is moved out of idea
    THEN both the business-KPI guard and the lane guard say why, each with the link that
    resolves it, and nothing moves."""
    use_case = use_case_like("collections_outreach", stage=Stage.IDEA, exports_data=True)
    with pytest.raises(lifecycle.MoveRefused) as refused:
        usecase_move_stage(use_case=use_case, to_stage=Stage.SCORING, actor=ops_lead)
    reasons = refused.value.message_dict["stage"]
    assert len(reasons) == 2
    assert any("exactly one business KPI" in reason for reason in reasons)
    assert any(reason.startswith("Prohibited lane") for reason in reasons)
    assert [(c.url, c.link_label) for c in refused.value.conditions] == [
        (f"/kpis/usecases/{use_case.pk}/", "Add one on the KPI stack"),
        (f"/governance/usecases/{use_case.pk}/", "See its lane"),
    ]
    use_case.refresh_from_db()
    assert use_case.stage == Stage.IDEA


def test_submitting_is_the_move_on_to_scoring_so_a_refusal_saves_nothing(ops_lead):
    """GIVEN intake with no KPI stack (no template) in the Prohibited lane
    WHEN it is created submitted
    THEN the move on to scoring is refused with both conditions, and nothing is saved."""
    with pytest.raises(lifecycle.MoveRefused) as refused:
        usecase_create(
            actor=ops_lead, data=template_data(exports_data=True, owner=ops_lead), submit=True
        )
    assert refused.value.to_stage == Stage.SCORING
    assert len(refused.value.conditions) == 2
    assert not UseCase.objects.exists()


def test_a_move_the_lifecycle_does_not_allow_is_refused_before_any_guard(ops_lead):
    use_case = use_case_like("collections_outreach", stage=Stage.IDEA)
    with pytest.raises(ValidationError) as refused:
        usecase_move_stage(use_case=use_case, to_stage=Stage.PRODUCTION, actor=ops_lead)
    assert refused.value.message_dict["stage"] == [
        "Cannot move from Idea to Production; allowed: Scoring, Rejected."
    ]


def test_a_follow_on_move_is_guarded_like_any_other(ops_lead, monkeypatch):
    """GIVEN an Allowed use case, whose entering review asks to go straight on to approved
    WHEN a guard refuses approved
    THEN the whole move is refused and rolled back: the follow-on is no back door."""
    use_case = use_case_like("collections_outreach", stage=Stage.SCORING)
    score_for_review(use_case)
    assert use_case.lane_assignment.lane == "allowed"
    monkeypatch.setitem(
        lifecycle._guards,
        "test.no_approval",
        lambda move: (
            lifecycle.Condition("Approval is frozen.") if move.to_stage == Stage.APPROVED else None
        ),
    )
    with pytest.raises(ValidationError, match="Approval is frozen"):
        usecase_move_stage(use_case=use_case, to_stage=Stage.REVIEW, actor=ops_lead)
    use_case.refresh_from_db()
    assert use_case.stage == Stage.SCORING
    assert not StageChange.objects.filter(use_case=use_case, to_stage=Stage.REVIEW).exists()


def test_the_allowed_lane_goes_on_to_approved_as_a_move_of_its_own(ops_lead):
    use_case = use_case_like("collections_outreach", stage=Stage.SCORING)
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage=Stage.REVIEW, actor=ops_lead)
    use_case.refresh_from_db()
    assert use_case.stage == Stage.APPROVED
    moves = list(
        StageChange.objects.filter(use_case=use_case)
        .order_by("pk")
        .values_list("from_stage", "to_stage", "note")
    )
    assert moves[-2:] == [
        ("scoring", "review", ""),
        ("review", "approved", "Allowed lane: no review needed"),
    ]


def test_a_draft_cannot_advance_until_it_is_submitted_but_may_be_rejected(ops_lead):
    """A draft is private to the people working on it: it must not reach review."""
    draft = usecase_create(actor=ops_lead, data=template_data(owner=ops_lead), submit=False)
    with pytest.raises(ValidationError) as refused:
        usecase_move_stage(use_case=draft, to_stage=Stage.SCORING, actor=ops_lead)
    assert refused.value.message_dict["stage"][0].startswith("Submit the use case first")
    assert refused.value.conditions[0].url == f"/usecases/{draft.pk}/edit/"
    draft.refresh_from_db()
    assert draft.stage == Stage.IDEA
    rejected = usecase_move_stage(use_case=draft, to_stage=Stage.REJECTED, actor=ops_lead)
    assert rejected.stage == Stage.REJECTED
