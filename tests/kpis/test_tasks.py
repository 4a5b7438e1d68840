"""The Celery jobs through a real worker over Redis, and the weekly review email."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from kpis.models import Alert, IngestBatch, RefreshRun, ReviewDigest, Snapshot
from kpis.review import weekly_review_send
from kpis.services import measurements_ingest, measurements_upload
from tests.kpis.factories import KPIFactory


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_an_ingest_refreshes_the_touched_kpis_through_a_real_worker(
    ops_lead: Any, wait_for: Any
) -> None:
    kpi = KPIFactory(baseline_value=10.0)
    untouched = KPIFactory()
    today = timezone.now().astimezone(UTC).date()
    batch = measurements_ingest(
        actor=ops_lead,
        source="api",
        records=[(1, {"kpi": kpi.pk, "timestamp": today.isoformat(), "value": 12.5})],
    )
    assert batch.status == "saved"

    wait_for(lambda: Snapshot.objects.filter(kpi=kpi).exists(), timeout=60, what="snapshot refresh")
    snapshot = Snapshot.objects.get(kpi=kpi)
    assert snapshot.latest_value == 12.5 and snapshot.change_abs == 2.5
    run = RefreshRun.objects.get()
    assert run.full is False and run.kpi_ids == [kpi.pk] and run.error == ""
    wait_for(
        lambda: RefreshRun.objects.filter(finished_at__isnull=False).exists(), what="run finished"
    )
    assert not Snapshot.objects.filter(kpi=untouched).exists()


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_large_upload_runs_as_a_background_job_with_progress(
    ops_lead: Any, wait_for: Any
) -> None:
    kpi = KPIFactory()
    start = datetime(2020, 1, 1, tzinfo=UTC)
    lines = ["kpi,timestamp,value"] + [
        f"{kpi.pk},{(start + timedelta(hours=i)).isoformat()},{i}" for i in range(12_000)
    ]
    batch = measurements_upload(
        actor=ops_lead, filename="big.csv", content="\n".join(lines).encode()
    )
    assert batch.status == "queued"

    wait_for(
        lambda: IngestBatch.objects.get(pk=batch.pk).status == "saved",
        timeout=90,
        what="batch saved",
    )
    batch.refresh_from_db()
    assert batch.rows_processed == batch.rows_accepted == 12_000 and batch.payload == ""
    assert kpi.measurements.count() == 12_000


@pytest.mark.django_db
def test_the_weekly_review_is_emailed_to_executives_once_a_week(
    executive: Any, ops_lead: Any, run_outbox: Any
) -> None:
    sent = weekly_review_send(week=date(2026, 3, 2))
    again = weekly_review_send(week=date(2026, 3, 4))
    run_outbox("opsai.tasks.email_send")

    assert sent == 1 and again == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [executive.email]
    assert "Weekly review, week of 2 Mar 2026" in mail.outbox[0].subject
    assert "WHAT MOVED" in mail.outbox[0].body
    assert ReviewDigest.objects.get().recipients == 1


@pytest.mark.django_db
def test_the_weekly_review_email_links_absolutely_to_the_review_and_each_kpi(
    executive: Any, settings: Any, run_outbox: Any
) -> None:
    settings.SITE_URL = "https://opsai.example.com"
    kpi = KPIFactory(name="Cash collected")
    fired = datetime(2026, 3, 3, 9, tzinfo=UTC)
    Alert.objects.create(kpi=kpi, reason="off_track", state="firing", last_as_of=date(2026, 3, 3),
                         fired_at=fired)  # fmt: skip

    assert weekly_review_send(week=date(2026, 3, 2)) == 1
    run_outbox("opsai.tasks.email_send")

    message = mail.outbox[0]
    review_url = "https://opsai.example.com/kpis/review/2026-03-02/"
    kpi_url = f"https://opsai.example.com/kpis/{kpi.pk}/"
    assert review_url in message.body and kpi_url in message.body
    html = message.alternatives[0][0]
    assert f'href="{review_url}"' in html and f'href="{kpi_url}"' in html
