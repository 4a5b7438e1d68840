"""The Celery application: configured from Django settings (``CELERY_*``)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

from opsai.config import ConfigurationError, exit_with_configuration_error
from opsai.startup import verify_database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsai.settings")

# Every task closes its outbox row when it finishes (see opsai.outbox); a string, so
# the class is imported only once Django is set up.
app = Celery("opsai", task_cls="opsai.outbox:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def verify_database_before_work(**_: Any) -> None:
    """Stop a worker with one clear line when its database is unreachable."""
    try:
        verify_database()
    except ConfigurationError as error:
        exit_with_configuration_error(error)
