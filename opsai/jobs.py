"""The one helper through which opsai enqueues background jobs.

Jobs are sent only after the surrounding transaction commits, so a worker never
sees an id whose row is not there yet, and a rolled-back change sends nothing.
A transactional outbox can later replace the body of :func:`enqueue_on_commit`
without touching any caller.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` with ``args``/``kwargs`` once the current transaction commits.

    Outside a transaction the job is sent at once. Arguments must be JSON
    (ids, not model instances).
    """

    def send() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception:
            # The change itself is committed; losing the job must not turn the
            # user's request into an error. The outbox will close this gap.
            logger.exception("could not enqueue %s", task.name)

    transaction.on_commit(send)
