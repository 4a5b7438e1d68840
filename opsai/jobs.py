"""The one helper through which opsai enqueues background jobs: a transactional outbox.

The job is written as an :class:`~opsai.models.OutboxJob` row in the caller's
transaction, so a rolled-back change records nothing and a committed one always has
its job. After the commit it is handed to Celery with a short broker timeout; if the
broker does not take it, the row stays pending and the relay (``opsai.outbox``)
publishes it later. A request never waits on the broker for more than
``OUTBOX_PUBLISH_TIMEOUT`` seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

from opsai.models import OutboxJob
from opsai.outbox import BrokerUnavailable, outbox_publish

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task | str, *args: Any, **kwargs: Any) -> None:
    """Record ``task`` with ``args``/``kwargs`` now; send it once the transaction commits.

    ``task`` is a task or its registered name: a service names the job its own app's
    ``tasks`` module runs, so the tasks (which call the services) and the services
    (which enqueue the tasks) need not import each other. Outside a transaction the
    job is recorded and sent at once. Arguments must be JSON (ids, not model instances).
    """
    name = task if isinstance(task, str) else task.name
    job = OutboxJob.objects.create(task_name=name, args=list(args), kwargs=kwargs)

    def send() -> None:
        try:
            outbox_publish(job.pk)
        except BrokerUnavailable as error:
            # The change and its job are committed; the relay will publish it.
            logger.warning("outbox job %s (%s) left for the relay: %s", job.pk, name, error)

    transaction.on_commit(send)
