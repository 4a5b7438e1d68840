"""AI workers: releases and rollback, the kill switch (manual and automatic), the status endpoint."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.test import APIClient

from audit.models import AuditEvent
from governance.models import AIWorker, Incident
from governance.selectors import worker_current_release
from governance.services import (
    aiworker_pause,
    aiworker_resume,
    release_create,
    release_rollback,
)
from governance.tasks import guardrail_alert_handle
from kpis.models import KPI, Alert, Annotation
from kpis.signals import kpi_alert_fired
from opsai.jobs import enqueue_on_commit
from tests.governance.factories import use_case_like, worker_for

EMAIL = "opsai.tasks.email_send"

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(owner_po):
    use_case = use_case_like("support_triage", stage="approved")
    return worker_for(use_case, owner_po, auto_pause_on_guardrail=True)


def _status(worker, token):
    client = APIClient()
    return client.get(f"/api/workers/{worker.pk}/status/", HTTP_AUTHORIZATION=f"Worker {token}")


def test_workers_belong_to_approved_use_cases(owner_po):
    use_case = use_case_like("support_triage", stage="scoring")
    with pytest.raises(ValidationError, match="AI workers belong to approved use cases"):
        worker_for(use_case, owner_po)


def test_a_bad_escalation_contact_is_named(owner_po):
    use_case = use_case_like("support_triage", stage="approved")
    with pytest.raises(ValidationError, match="“pager” is not an email address"):
        worker_for(use_case, owner_po, escalation_contacts=["pager"])
    assert not AIWorker.objects.exists()


def test_the_current_version_is_the_latest_release_not_rolled_back(worker, owner_po):
    first = release_create(worker=worker, actor=owner_po, version="1.0", notes="first")
    second = release_create(worker=worker, actor=owner_po, version="1.1", notes="faster")
    assert worker_current_release(worker) == second
    release_rollback(release=second, actor=owner_po, notes="misroutes billing tickets")
    assert worker_current_release(worker) == first
    with pytest.raises(ValidationError, match="already rolled back"):
        release_rollback(release=second, actor=owner_po)
    third = release_create(worker=worker, actor=owner_po, version="1.2")
    assert worker_current_release(worker) == third
    kinds = list(Annotation.objects.filter(use_case=worker.use_case).values_list("kind", "text"))
    assert ("release", "Triage bot 1.1 rolled back") in kinds
    assert AuditEvent.objects.get(action="release.rolled_back").after["current_version"] == "1.0"


def test_the_kill_switch_pauses_at_once_and_tells_everyone(worker, owner_po, run_outbox):
    """GIVEN an active worker polled by its runtime WHEN its product owner pauses it with a reason
    THEN the runtime reads paused, contacts are emailed, it is audited and marked on KPI charts."""
    token = worker.runtime_token
    assert _status(worker, token).json()["status"] == "active"
    aiworker_pause(worker=worker, actor=owner_po, reason="Wrong refund emails")
    run_outbox(EMAIL)
    body = _status(worker, token).json()
    assert (body["status"], body["paused"], body["pause_reason"]) == (
        "paused",
        True,
        "Wrong refund emails",
    )
    assert mail.outbox[0].to == ["oncall@example.com"]
    assert "PAUSED" in mail.outbox[0].subject
    assert "Wrong refund emails" in mail.outbox[0].body
    event = AuditEvent.objects.get(action="aiworker.paused")
    assert (event.actor, event.after["reason"], event.model_version) == (
        owner_po,
        "Wrong refund emails",
        "2026-01",
    )
    assert Annotation.objects.filter(kind="pause", use_case=worker.use_case).exists()


def test_the_pause_email_links_to_the_worker_on_the_site(worker, owner_po, settings, run_outbox):
    settings.SITE_URL = "https://opsai.example.com"
    aiworker_pause(worker=worker, actor=owner_po, reason="Drift")
    run_outbox(EMAIL)
    assert f"https://opsai.example.com/governance/workers/{worker.pk}/" in mail.outbox[0].body


def test_resuming_turns_the_pause_marker_into_a_range(worker, owner_po, it_reviewer):
    other = worker_for(worker.use_case, owner_po, name="Other bot")
    aiworker_pause(worker=other, actor=it_reviewer, reason="Unrelated")
    aiworker_pause(worker=worker, actor=it_reviewer, reason="Drift")
    paused_at = AIWorker.objects.get(pk=worker.pk).paused_at
    aiworker_resume(worker=worker, actor=owner_po, note="Fixed the prompt")
    marker = Annotation.objects.get(kind="pause", text="Triage bot paused: Drift")
    resumed = AuditEvent.objects.get(action="aiworker.resumed").occurred_at
    assert marker.starts_at == paused_at
    assert paused_at < marker.ends_at <= resumed
    # The other worker's pause is still open: a point marker until it resumes.
    assert Annotation.objects.get(text="Other bot paused: Unrelated").ends_at is None
    assert AuditEvent.objects.filter(action="annotation.ended", object_id=str(marker.pk)).exists()


def test_resuming_tells_the_escalation_contacts(worker, owner_po, it_reviewer, run_outbox):
    aiworker_pause(worker=worker, actor=it_reviewer, reason="Drift")
    run_outbox(EMAIL)
    mail.outbox.clear()
    aiworker_resume(worker=worker, actor=owner_po, note="Fixed the prompt")
    run_outbox(EMAIL)
    (message,) = mail.outbox
    assert message.to == ["oncall@example.com"] and "active again" in message.subject
    assert "Fixed the prompt" in message.body and worker.get_absolute_url() in message.body


def test_a_product_owner_of_another_team_cannot_resume(worker, it_reviewer, make_user):
    from tests.factories import TeamFactory

    stranger = make_user("Product owner", username="olaf")
    TeamFactory(name="Finance", product_owner=stranger)
    aiworker_pause(worker=worker, actor=it_reviewer, reason="Drift")
    with pytest.raises(ValidationError, match="Only a product owner of the Support team"):
        aiworker_resume(worker=worker, actor=stranger)
    worker.refresh_from_db()
    assert worker.status == "paused"
    assert Annotation.objects.get(kind="pause").ends_at is None
    client = APIClient()
    client.force_authenticate(stranger)
    assert client.post(f"/api/workers/{worker.pk}/resume/").status_code == 403


def test_a_pause_needs_a_reason(worker, owner_po):
    with pytest.raises(ValidationError, match="Say why"):
        aiworker_pause(worker=worker, actor=owner_po, reason="  ")


def test_resuming_needs_a_product_owner(worker, owner_po, it_reviewer):
    aiworker_pause(worker=worker, actor=it_reviewer, reason="Drift")
    with pytest.raises(ValidationError, match="Only a product owner"):
        aiworker_resume(worker=worker, actor=it_reviewer)
    aiworker_resume(worker=worker, actor=owner_po, note="Fixed the prompt")
    worker.refresh_from_db()
    assert worker.status == "active"


def test_the_status_endpoint_refuses_strangers(worker, roleless_user):
    assert _status(worker, "not-the-token").status_code == 401
    other = worker_for(worker.use_case, None, name="Other bot")
    assert _status(worker, other.runtime_token).status_code == 403  # another worker's token
    client = APIClient()
    assert client.get(f"/api/workers/{worker.pk}/status/").status_code in (401, 403)
    client.force_authenticate(roleless_user)
    assert client.get(f"/api/workers/{worker.pk}/status/").status_code == 403


def _guardrail_alert(use_case):
    kpi = KPI.objects.create(
        use_case=use_case,
        name="Refund error rate",
        level="model",
        unit="%",
        guardrail_threshold=2.0,
    )
    return kpi, Alert.objects.create(
        kpi=kpi, reason="guardrail", state="firing", last_as_of="2026-11-26"
    )


def test_a_guardrail_alert_pauses_auto_pausing_workers_and_opens_an_incident(worker, owner_po):
    manual = worker_for(worker.use_case, owner_po, name="Manual bot", auto_pause_on_guardrail=False)
    kpi, alert = _guardrail_alert(worker.use_case)
    with transaction.atomic():
        kpi_alert_fired.send(sender=KPI, kpi=kpi, alert=alert, reason="guardrail")
    worker.refresh_from_db()
    manual.refresh_from_db()
    assert (worker.status, manual.status) == ("paused", "active")
    assert worker.paused_by is None and worker.pause_reason.startswith(
        "Guardrail breached: Refund error rate"
    )
    incident = Incident.objects.get()
    assert (incident.worker, incident.severity, incident.source_key) == (
        worker,
        "high",
        f"kpis.alert:{alert.pk}",
    )
    assert incident.steps.get(kind="stop").done_at is not None
    # Off-track alerts do not pause anything.
    with transaction.atomic():
        kpi_alert_fired.send(sender=KPI, kpi=kpi, alert=alert, reason="off_track")
    assert Incident.objects.count() == 1


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_automatic_kill_switch_runs_in_a_real_worker(owner_po, wait_for):
    """GIVEN a worker set to auto-pause WHEN a firing guardrail alert is handed to Celery
    THEN a real worker process pauses it (the runtime reads paused) and opens one incident."""
    use_case = use_case_like("support_triage", stage="approved")
    worker = worker_for(use_case, owner_po, auto_pause_on_guardrail=True)
    _, alert = _guardrail_alert(use_case)
    with transaction.atomic():
        enqueue_on_commit(guardrail_alert_handle, alert.pk)
    wait_for(
        lambda: Incident.objects.filter(source_key=f"kpis.alert:{alert.pk}").exists(),
        what="the incident",
    )
    assert _status(worker, worker.runtime_token).json()["status"] == "paused"
    # Safe to run twice: the same alert opens no second incident.
    assert guardrail_alert_handle(alert.pk) == "already handled"
    assert Incident.objects.count() == 1


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_kpi_slip_detection_pauses_the_worker_in_a_real_celery_worker(owner_po, wait_for):
    """GIVEN a guardrail KPI and a worker set to auto-pause WHEN the KPI app's snapshot job
    sees the guardrail crossed THEN, in the worker process, the worker is paused and an incident opens."""
    from datetime import timedelta

    from django.utils import timezone

    from kpis.models import Measurement
    from kpis.tasks import refresh_snapshots

    use_case = use_case_like("support_triage", stage="production")
    worker = worker_for(use_case, owner_po, auto_pause_on_guardrail=True)
    kpi = KPI.objects.create(
        use_case=use_case, name="Refund error rate", level="model", unit="%", direction="down",
        guardrail_threshold=2.0, alert_after_snapshots=1,
    )  # fmt: skip
    Measurement.objects.create(kpi=kpi, timestamp=timezone.now() - timedelta(hours=1), value=5.0)
    with transaction.atomic():
        enqueue_on_commit(refresh_snapshots, [kpi.pk], timezone.now().date().isoformat())
    wait_for(
        lambda: Incident.objects.filter(use_case=use_case).exists(), what="the guardrail incident"
    )
    assert _status(worker, worker.runtime_token).json()["status"] == "paused"
    worker.refresh_from_db()
    assert worker.pause_reason.startswith("Guardrail breached: Refund error rate")
    assert AuditEvent.objects.filter(action="aiworker.paused", actor_name="system").exists()
