"""The audit trail: written in the change's transaction, append-only down to PostgreSQL."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from audit.models import AuditEvent
from audit.services import audit_record
from tests.factories import UseCaseFactory
from usecases.models import StageChange
from usecases.services import usecase_move_stage

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_record_outside_a_transaction(ops_lead):
    use_case = UseCaseFactory()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=ops_lead, action="test.outside", target=use_case)
    assert not AuditEvent.objects.exists()


def test_a_stage_move_writes_its_audit_event_and_history(ops_lead):
    use_case = UseCaseFactory(stage="scoring")
    usecase_move_stage(use_case=use_case, to_stage="idea", actor=ops_lead, note="not ready")
    event = AuditEvent.objects.get(action="usecase.stage_moved")
    assert event.actor == ops_lead
    assert event.actor_name == "ops"
    assert event.object_type == "usecases.usecase"
    assert event.object_id == str(use_case.pk)
    assert event.before == {"stage": "scoring"}
    assert event.after == {"stage": "idea", "note": "not ready"}
    change = StageChange.objects.get(use_case=use_case)
    assert (change.from_stage, change.to_stage, change.changed_by) == ("scoring", "idea", ops_lead)


def test_a_disallowed_stage_move_changes_nothing(ops_lead):
    use_case = UseCaseFactory()
    with pytest.raises(ValidationError, match="Cannot move from Idea to Production"):
        usecase_move_stage(use_case=use_case, to_stage="production", actor=ops_lead)
    use_case.refresh_from_db()
    assert use_case.stage == "idea"
    assert not AuditEvent.objects.exists()


def test_the_model_refuses_update_and_delete(ops_lead):
    with transaction.atomic():
        event = audit_record(actor=ops_lead, action="test.created", target=None)
    event.action = "test.rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().update(action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE governance_auditevent SET action = 'rewritten'",
        "DELETE FROM governance_auditevent",
    ],
)
def test_postgresql_refuses_update_and_delete(ops_lead, sql):
    with transaction.atomic():
        audit_record(actor=ops_lead, action="test.created", target=None)
    refused = (InternalError, ProgrammingError, IntegrityError)
    with pytest.raises(refused, match="append-only"), transaction.atomic():
        connection.cursor().execute(sql)
    assert AuditEvent.objects.get().action == "test.created"
