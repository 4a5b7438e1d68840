from django.core.management.base import BaseCommand

from opsai.demo import demo_load, demo_summary_line


class Command(BaseCommand):
    help = "Load demo users, organisation units, use cases, KPIs and governance data (safe to run again)."

    def handle(self, *args: object, **options: object) -> None:
        # One line: `make run` prints it just above its own "starting" line, and the
        # emails the demo causes go where EMAIL_URL says (var/mail/ by default), not here.
        demo_load()
        self.stdout.write(self.style.SUCCESS(demo_summary_line()))
