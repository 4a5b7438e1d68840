"""Intake, submit, lifecycle and scoring services: lifecycle steps, audit events, history."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from tests.usecases.factories import make_use_case, rate, sheet, template_data
from usecases import lifecycle
from usecases.models import Score, ScoringModel, StageChange, Team, UseCase
from usecases.selectors import usecase_portfolio, usecase_stage_history, usecase_time_in_stage
from usecases.services import (
    score_submit,
    scoring_model_create,
    team_set_hourly_cost,
    usecase_create,
    usecase_move_stage,
    usecase_submit,
    usecase_update,
)

pytestmark = pytest.mark.django_db


def actions(target):
    """This app's audit actions on ``target`` (other apps' receivers add their own)."""
    return list(
        AuditEvent.objects.filter(
            object_id=str(target.pk),
            object_type=target._meta.label_lower,
            action__startswith="usecase.",
        )
        .order_by("pk")
        .values_list("action", flat=True)
    )


class Recorder:
    """Stands in as a lifecycle step and records what each call was given."""

    def __init__(self, *names):
        self.names = names
        self.calls = []

    def __call__(self, *args):
        self.calls.append(dict(zip(self.names, args, strict=True)))


@pytest.fixture
def created_signal(monkeypatch):
    recorder = Recorder("use_case", "actor")
    monkeypatch.setitem(lifecycle._create_steps, "test-recorder", recorder)
    return recorder


@pytest.fixture
def changed_signal(monkeypatch):
    recorder = Recorder("use_case", "actor", "changed_fields")
    monkeypatch.setitem(lifecycle._change_steps, "test-recorder", recorder)
    return recorder


def test_it_creates_a_draft_sends_usecase_created_and_audits(ops_lead, created_signal):
    use_case = usecase_create(
        actor=ops_lead,
        data={"title": "Triage", "team": Team.objects.create(name="Support")},
        template_key="support_triage",
    )
    assert use_case.is_draft
    assert use_case.stage == "idea"
    assert created_signal.calls == [{"use_case": use_case, "actor": ops_lead}]
    assert actions(use_case) == ["usecase.created"]
    assert StageChange.objects.get(use_case=use_case).to_stage == "idea"


def test_submit_names_every_missing_field_and_saves_nothing(ops_lead):
    team = Team.objects.create(name="Support")
    with pytest.raises(ValidationError) as error:
        usecase_create(actor=ops_lead, data={"title": "Half", "team": team}, submit=True)
    assert "problem" in error.value.message_dict
    assert error.value.message_dict["business_outcome"] == [
        "Business outcome is required to submit."
    ]
    assert error.value.message_dict["kpis_touched"] == ["KPIs touched is required to submit."]
    assert "title" not in error.value.message_dict
    assert not UseCase.objects.exists()


def test_a_draft_is_submitted_once_complete(ops_lead):
    draft = make_use_case(ops_lead, submit=False, problem="")
    with pytest.raises(ValidationError) as error:
        usecase_submit(use_case=draft, actor=ops_lead)
    assert list(error.value.message_dict) == ["problem"]
    usecase_update(use_case=draft, actor=ops_lead, data={"problem": "Late reminders"})
    submitted = usecase_submit(use_case=draft, actor=ops_lead)
    assert submitted.submitted_at is not None
    assert submitted.stage == "scoring"
    assert actions(draft)[-3:] == ["usecase.updated", "usecase.submitted", "usecase.stage_moved"]


def test_update_sends_changed_fields_and_their_old_values(ops_lead, changed_signal):
    use_case = make_use_case(ops_lead)
    usecase_update(
        use_case=use_case,
        actor=ops_lead,
        data={
            "approvals_needed": 6,
            "title": "Collections outreach",
            "audience": "customer_facing",
        },
    )
    (call,) = changed_signal.calls
    assert call["changed_fields"] == {"approvals_needed", "audience"}
    event = AuditEvent.objects.filter(action="usecase.updated").get()
    assert event.before == {"approvals_needed": 1, "audience": "internal"}
    assert event.after == {"approvals_needed": 6, "audience": "customer_facing"}


def test_an_update_that_changes_nothing_sends_nothing(ops_lead, changed_signal):
    use_case = make_use_case(ops_lead)
    usecase_update(use_case=use_case, actor=ops_lead, data={"title": use_case.title})
    assert changed_signal.calls == []


def test_systems_touched_must_be_known_systems(ops_lead):
    with pytest.raises(ValidationError) as error:
        make_use_case(ops_lead, systems_touched=["erp", "mainframe"])
    assert "systems_touched" in error.value.message_dict


def test_it_moves_through_allowed_stages_only_and_keeps_time_in_stage(ops_lead, admin_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        use_case = make_use_case(ops_lead, submit=False)
    with time_machine.travel(start + timedelta(days=3), tick=False):
        usecase_submit(use_case=use_case, actor=admin_user)  # submitting moves it to scoring
    with time_machine.travel(start + timedelta(days=5), tick=False):
        with pytest.raises(ValidationError, match="Cannot move from Scoring to Pilot"):
            usecase_move_stage(use_case=use_case, to_stage="pilot", actor=admin_user)
        usecase_move_stage(use_case=use_case, to_stage="rejected", actor=admin_user)
    with time_machine.travel(start + timedelta(days=6), tick=False):
        totals = usecase_time_in_stage(use_case)
        history = usecase_stage_history(use_case)
    assert totals == {
        "idea": timedelta(days=3),
        "scoring": timedelta(days=2),
        "rejected": timedelta(days=1),
    }
    assert [(s.stage, s.changed_by) for s in history] == [
        ("idea", "ops"), ("scoring", "admin"), ("rejected", "admin"),
    ]  # fmt: skip
    assert actions(use_case).count("usecase.stage_moved") == 2


def test_a_score_needs_every_criterion_1_to_5_with_a_rationale(ops_lead):
    use_case = make_use_case(ops_lead)
    with pytest.raises(ValidationError) as error:
        score_submit(
            use_case=use_case,
            scorer=ops_lead,
            values={**sheet(5, 4, 3, 2, 1), "value": 6},
            rationales={"value": "big", "feasibility": " "},
        )
    errors = error.value.message_dict
    assert errors["value"] == ["Value: give a score from 1 to 5."]
    assert "feasibility_rationale" in errors
    assert "change_pain_rationale" in errors
    assert not Score.objects.exists()


def test_drafts_are_not_scored(ops_lead):
    draft = make_use_case(ops_lead, submit=False)
    with pytest.raises(ValidationError, match="Submit the use case before scoring"):
        rate(draft, ops_lead, 3, 3, 3, 3, 3)


def test_re_scoring_keeps_the_history(ops_lead):
    use_case = make_use_case(ops_lead)
    first = rate(use_case, ops_lead, 3, 3, 3, 3, 3)
    second = rate(use_case, ops_lead, 5, 5, 5, 5, 5)
    first.refresh_from_db()
    assert first.superseded_at == second.submitted_at
    assert second.superseded_at is None
    assert Score.objects.filter(use_case=use_case).count() == 2
    assert usecase_portfolio().get(pk=use_case.pk).consensus == 5
    assert actions(use_case).count("usecase.scored") == 2


def test_the_first_score_saves_the_default_model_as_version_1(ops_lead):
    use_case = make_use_case(ops_lead)
    score = rate(use_case, ops_lead, 5, 1, 1, 1, 1)
    assert score.scoring_model.version == 1
    assert score.weighted_score == Decimal("2.20")  # (3×5 + 2 + 2 + 1.5 + 1.5) / 10
    assert AuditEvent.objects.filter(action="scoring_model.created", model_version="v1").exists()


def test_scores_are_reproducible_after_a_weight_change(ops_lead, admin_user, make_user):
    """GIVEN two use cases ranked under v1, WHEN an admin creates v2 with other weights,
    THEN the v1 sheets keep their weighted scores and the v1 ranking is recomputed exactly,
    while the current ranking follows v2."""
    second_scorer = make_user("Ops lead", username="second")
    valuable = make_use_case(ops_lead, title="Valuable but hard")
    easy = make_use_case(ops_lead, "support_triage", title="Easy but modest")
    rate(valuable, ops_lead, 5, 2, 3, 3, 3)
    rate(valuable, second_scorer, 5, 2, 3, 3, 3)
    rate(easy, ops_lead, 2, 5, 3, 3, 3)
    v1 = ScoringModel.objects.get(version=1)
    before = [(r.title, r.consensus) for r in usecase_portfolio(scoring_model=v1)]
    assert [title for title, _ in before] == ["Valuable but hard", "Easy but modest"]
    stored = dict(Score.objects.values_list("pk", "weighted_score"))

    v2 = scoring_model_create(
        actor=admin_user,
        note="feasibility first",
        weight_value=Decimal("1"),
        weight_feasibility=Decimal("4"),
    )

    assert v2.version == 2
    assert v2.weight_data_readiness == v1.weight_data_readiness  # copied from v1
    assert dict(Score.objects.values_list("pk", "weighted_score")) == stored
    assert set(Score.objects.values_list("scoring_model__version", flat=True)) == {1}
    assert [(r.title, r.consensus) for r in usecase_portfolio(scoring_model=v1)] == before
    assert [r.title for r in usecase_portfolio()] == ["Easy but modest", "Valuable but hard"]
    event = AuditEvent.objects.get(action="scoring_model.created", model_version="v2")
    assert event.before["weight_value"] == "3"
    assert event.after["weight_value"] == "1"


def test_a_past_ranking_is_recomputed_as_of_a_moment(ops_lead):
    use_case = make_use_case(ops_lead)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        rate(use_case, ops_lead, 2, 2, 2, 2, 2)
    with time_machine.travel(start + timedelta(days=1), tick=False):
        rate(use_case, ops_lead, 4, 4, 4, 4, 4)
    then = usecase_portfolio(as_of=start + timedelta(hours=1)).get(pk=use_case.pk)
    assert then.consensus == 2
    assert usecase_portfolio().get(pk=use_case.pk).consensus == 4


def test_a_scoring_model_with_no_positive_weight_is_refused(admin_user):
    zero = {
        f"weight_{k}": Decimal("0")
        for k in ("value", "feasibility", "data_readiness", "integration_complexity", "change_pain")
    }
    with pytest.raises(ValidationError, match="At least one weight"):
        scoring_model_create(actor=admin_user, **zero)
    assert not ScoringModel.objects.exists()


def test_team_hourly_cost_edits_are_audited_and_change_the_estimate(ops_lead, admin_user):
    use_case = make_use_case(ops_lead)
    team = use_case.team
    before = usecase_portfolio().get(pk=use_case.pk).est_cost
    team_set_hourly_cost(team=team, actor=admin_user, hourly_cost=Decimal("90"))
    assert usecase_portfolio().get(pk=use_case.pk).est_cost == before * 2
    event = AuditEvent.objects.get(action="team.hourly_cost_changed")
    assert event.before == {"hourly_cost": "45.00"} and event.after == {"hourly_cost": "90"}
    with pytest.raises(ValidationError):
        team_set_hourly_cost(team=team, actor=admin_user, hourly_cost=Decimal("-1"))


def test_template_data_helper_builds_a_valid_intake(ops_lead):
    data = template_data("quote_to_cash_exceptions")
    assert data["team"].name == "Finance"


def test_the_same_number_written_differently_is_no_change(ops_lead, changed_signal):
    use_case = make_use_case(ops_lead)  # minutes_per_case is stored as 12.0
    usecase_update(use_case=use_case, actor=ops_lead, data={"minutes_per_case": Decimal("12")})
    assert changed_signal.calls == []
