"""Celery jobs for use cases: a large import, run in the background with progress.

Thin: the task takes the job's id and calls the service, which claims the job with a
conditional UPDATE, so a second delivery of the same message does nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task

from usecases.imports import usecase_import_run as run_import
from usecases.onboarding_jobs import onboarding_run as run_onboarding

logger = logging.getLogger(__name__)


@shared_task(name="usecases.tasks.usecase_import_run")
def usecase_import_run(job_id: int) -> str:
    """Check and import a queued use-case file: every row or none."""
    job = run_import(job_id=job_id)
    if job is None:
        logger.info("import job %s is gone", job_id)
        return "gone"
    return job.state


@shared_task(name="usecases.tasks.onboarding_run")
def onboarding_run(job_id: int) -> str:
    """Check (the preview) or import an onboarding job's rows, as its phase says."""
    job = run_onboarding(job_id=job_id)
    if job is None:
        logger.info("onboarding job %s is gone", job_id)
        return "gone"
    return job.state
