"""Every page says when background work is delayed, and stops saying it when it is not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from opsai.models import OutboxJob
from opsai.selectors import background_delay_forget
from opsai.tasks import WORKER_HEARTBEAT_KEY

pytestmark = pytest.mark.django_db

BANNER = 'data-testid="background-delay"'


def _job(state: str, minutes_ago: int) -> OutboxJob:
    job = OutboxJob.objects.create(task_name="kpis.tasks.refresh_snapshots", state=state)
    when = timezone.now() - timedelta(minutes=minutes_ago)
    OutboxJob.objects.filter(pk=job.pk).update(created_at=when, sent_at=when)
    return job


def _page(client: Any, user: Any) -> str:
    background_delay_forget()
    client.force_login(user)
    return " ".join(client.get("/usecases/").content.decode().split())


def test_jobs_waiting_for_the_broker_longer_than_a_minute_show_the_banner(
    client: Any, ops_lead: Any
) -> None:
    assert BANNER not in _page(client, ops_lead)
    _job("pending", minutes_ago=0)  # young: its own publish may still take it
    assert BANNER not in _page(client, ops_lead)
    job = _job("pending", minutes_ago=3)
    page = _page(client, ops_lead)
    assert BANNER in page
    assert "1 job waiting for the job broker for 3 minutes" in page
    assert "Your changes are saved" in page
    OutboxJob.objects.filter(pk=job.pk).update(state="done")
    assert BANNER not in _page(client, ops_lead)


def test_jobs_handed_out_long_ago_show_the_banner_only_when_no_worker_reports(
    client: Any, executive: Any
) -> None:
    _job("sent", minutes_ago=5)
    cache.set(WORKER_HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)
    try:
        assert BANNER not in _page(client, executive)  # a long job on a live worker
        cache.delete(WORKER_HEARTBEAT_KEY)
        page = _page(client, executive)
        assert BANNER in page and "waiting for a worker" in page
    finally:
        cache.delete(WORKER_HEARTBEAT_KEY)


def test_the_check_is_remembered_for_seconds_not_made_on_every_page(
    client: Any, ops_lead: Any
) -> None:
    _page(client, ops_lead)  # checked now
    _job("pending", minutes_ago=3)
    # Remembered: this page does not ask again, so it does not see the new backlog yet.
    assert BANNER not in client.get("/usecases/").content.decode()
