"""``manage.py outbox_relay``: publish pending outbox jobs by hand (beat does it too)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from opsai.outbox import outbox_relay


class Command(BaseCommand):
    help = "Publish pending outbox jobs to the broker (and re-send ones sent but lost)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            help="only jobs pending at least this many seconds (default OUTBOX_RELAY_AFTER)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seconds = options["older_than"]
        older_than = timedelta(seconds=seconds) if seconds is not None else None
        published = outbox_relay(older_than=older_than)
        self.stdout.write(f"published {published} outbox job(s)")
