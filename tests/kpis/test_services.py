"""KPI definitions, template stacks, the business-KPI rule, check-ins and annotations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from kpis.models import KPI, Annotation
from kpis.services import annotation_create, checkin_record, kpi_create, kpi_update
from tests.factories import UseCaseFactory
from tests.kpis.factories import KPIFactory
from usecases.catalog import USE_CASE_TEMPLATES
from usecases.services import usecase_move_stage

pytestmark = pytest.mark.django_db


def test_it_builds_the_template_kpi_stack_when_a_use_case_is_created(ops_lead) -> None:
    from tests.factories import TeamFactory
    from usecases.services import usecase_create

    use_case = usecase_create(
        actor=ops_lead,
        data={"title": "Collections outreach", "team": TeamFactory(name="Finance")},
        template_key="collections_outreach",
    )

    kpis = {kpi.name: kpi for kpi in KPI.objects.filter(use_case=use_case)}
    expected = USE_CASE_TEMPLATES["collections_outreach"]["kpis"]
    assert set(kpis) == {spec["name"] for spec in expected}
    assert kpis["Days sales outstanding"].parent == kpis["Cash collected"]
    assert kpis["Agency fees"].direction == "down" and kpis["Cash collected"].level == "business"
    assert AuditEvent.objects.filter(action="kpi.created").count() == len(expected)


def test_it_vetoes_leaving_idea_without_exactly_one_business_kpi(ops_lead) -> None:
    use_case = UseCaseFactory()
    with pytest.raises(ValidationError, match="exactly one business KPI"):
        usecase_move_stage(use_case=use_case, to_stage="scoring", actor=ops_lead)

    KPIFactory(use_case=use_case, level="business")
    usecase_move_stage(use_case=use_case, to_stage="scoring", actor=ops_lead)
    use_case.refresh_from_db()
    assert use_case.stage == "scoring"


def test_it_vetoes_a_use_case_with_two_business_kpis(ops_lead) -> None:
    use_case = UseCaseFactory()
    KPIFactory(use_case=use_case, level="business")
    KPIFactory(use_case=use_case, level="business")
    with pytest.raises(ValidationError, match="has 2"):
        usecase_move_stage(use_case=use_case, to_stage="scoring", actor=ops_lead)


def test_it_records_kpi_definition_changes_in_the_audit_trail(ops_lead) -> None:
    use_case = UseCaseFactory()
    kpi = kpi_create(
        actor=ops_lead, use_case=use_case, name="Cash", level="business", direction="up"
    )
    kpi_update(actor=ops_lead, kpi=kpi, target_type="at_least", target_value=100.0)

    event = AuditEvent.objects.get(action="kpi.updated")
    assert event.before == {"target_type": "", "target_value": None}
    assert event.after == {"target_type": "at_least", "target_value": 100.0}


def test_it_refuses_an_invalid_kpi_definition(ops_lead) -> None:
    business = KPIFactory(level="business")
    with pytest.raises(ValidationError) as error:
        kpi_create(
            actor=ops_lead, use_case=business.use_case, name="X", level="business", parent=business
        )
    assert "parent" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        kpi_update(actor=ops_lead, kpi=business, target_type="at_least")
    assert "target_value" in error.value.message_dict


def test_it_records_one_check_in_per_kpi_per_week(ops_lead) -> None:
    kpi = KPIFactory(owner=ops_lead)
    checkin_record(
        actor=ops_lead, kpi=kpi, confidence="at_risk", analysis="Slow", week=date(2026, 3, 4)
    )
    again = checkin_record(
        actor=ops_lead, kpi=kpi, confidence="on_track", analysis="Better", week=date(2026, 3, 6)
    )

    assert again.week == date(2026, 3, 2)  # the Monday
    assert kpi.check_ins.count() == 1 and kpi.check_ins.get().confidence == "on_track"
    assert AuditEvent.objects.filter(action="kpi.checked_in").count() == 2


def test_it_creates_annotations_for_a_kpi_a_use_case_or_the_portfolio(ops_lead) -> None:
    kpi = KPIFactory()
    when = datetime(2026, 3, 1, 9, tzinfo=UTC)
    on_kpi = annotation_create(actor=ops_lead, kind="release", text="v2", starts_at=when, kpi=kpi)
    portfolio = annotation_create(actor=None, kind="note", text="Quarter close", starts_at=when)

    assert on_kpi.use_case == kpi.use_case  # a KPI marker also belongs to its use case
    assert portfolio.use_case is None and portfolio.kpi is None
    assert AuditEvent.objects.filter(action="annotation.created").count() == 2
    with pytest.raises(ValidationError, match="kind"):
        annotation_create(actor=ops_lead, kind="party", text="x", starts_at=when)
    with pytest.raises(ValidationError, match="end before"):
        annotation_create(
            actor=ops_lead,
            kind="pause",
            text="x",
            starts_at=when,
            ends_at=datetime(2026, 2, 1, tzinfo=UTC),
        )
    assert Annotation.objects.count() == 2


def test_it_keeps_one_business_kpi_once_a_use_case_has_left_idea(ops_lead) -> None:
    use_case = UseCaseFactory()
    business = KPIFactory(use_case=use_case, level="business")
    usecase_move_stage(use_case=use_case, to_stage="scoring", actor=ops_lead)

    with pytest.raises(ValidationError, match="exactly one business KPI"):
        kpi_create(actor=ops_lead, use_case=use_case, name="Second", level="business")
    with pytest.raises(ValidationError, match="would leave it with 0"):
        kpi_update(actor=ops_lead, kpi=business, level="operational")
    assert list(KPI.objects.filter(use_case=use_case).values_list("level", flat=True)) == [
        "business"
    ]
