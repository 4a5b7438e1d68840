"""/healthz reports database, broker and worker heartbeat."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from opsai.tasks import WORKER_HEARTBEAT_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_heartbeat():
    cache.delete(WORKER_HEARTBEAT_KEY)
    yield
    cache.delete(WORKER_HEARTBEAT_KEY)


def test_it_needs_no_sign_in_and_says_503_without_a_worker(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["database"]["vendor"] == "postgresql"
    assert body["broker"]["ok"] is True
    assert body["worker"]["ok"] is False


def test_it_says_200_with_a_fresh_heartbeat(client):
    cache.set(WORKER_HEARTBEAT_KEY, timezone.now().isoformat())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_it_says_503_with_a_stale_heartbeat(client):
    cache.set(WORKER_HEARTBEAT_KEY, (timezone.now() - timedelta(minutes=10)).isoformat())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"]["error"] == "worker heartbeat is stale"
