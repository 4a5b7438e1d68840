"""The one helper through which opsai enqueues background jobs.

Jobs are sent only after the surrounding transaction commits, so a worker never
sees an id whose row is not there yet, and a rolled-back change sends nothing.
A transactional outbox can later replace the body of :func:`enqueue_on_commit`
without touching any caller.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task | str, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` with ``args``/``kwargs`` once the current transaction commits.

    ``task`` is a task or its registered name: a service names the job its own app's
    ``tasks`` module runs, so the tasks (which call the services) and the services
    (which enqueue the tasks) need not import each other. Outside a transaction the
    job is sent at once. Arguments must be JSON (ids, not model instances).
    """
    name = task if isinstance(task, str) else task.name
    # A signature by name: the web process need not have imported the task to send it.
    job = current_app.signature(name, args=args, kwargs=kwargs)

    def send() -> None:
        try:
            job.apply_async()
        except Exception:
            # The change itself is committed; losing the job must not turn the
            # user's request into an error. The outbox will close this gap.
            logger.exception("could not enqueue %s", name)

    transaction.on_commit(send)
