"""Jobs go through the one enqueue helper, after commit, to a real worker over Redis."""

import pytest
from django.core.cache import cache
from django.db import transaction

from opsai.jobs import enqueue_on_commit
from opsai.tasks import WORKER_HEARTBEAT_KEY, worker_heartbeat


@pytest.mark.django_db
def test_it_enqueues_only_when_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        enqueue_on_commit(worker_heartbeat)
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_a_rolled_back_transaction_enqueues_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                enqueue_on_commit(worker_heartbeat)
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
    assert callbacks == []


@pytest.mark.celery
def test_a_real_worker_runs_the_job_and_healthz_turns_green(client, wait_for):
    """GIVEN a worker over Redis WHEN a job is enqueued on commit THEN it runs and /healthz is 200."""
    cache.delete(WORKER_HEARTBEAT_KEY)
    assert client.get("/healthz").status_code == 503
    with transaction.atomic():
        enqueue_on_commit(worker_heartbeat)
    wait_for(lambda: cache.get(WORKER_HEARTBEAT_KEY) is not None, what="the heartbeat job")
    assert client.get("/healthz").status_code == 200
