"""``manage.py sweep_stale_jobs``: take back stranded ingest batches and refresh runs by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kpis.services import stale_jobs_sweep


class Command(BaseCommand):
    help = (
        "Re-queue ingest batches whose worker vanished (their lease ran out), fail those out "
        "of attempts, and mark abandoned refresh runs, queueing a fresh refresh (beat does "
        "this every minute)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(str(stale_jobs_sweep()))
