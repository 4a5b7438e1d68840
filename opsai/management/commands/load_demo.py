from django.core.management.base import BaseCommand

from opsai.demo import DEMO_PASSWORD, DEMO_USERS, demo_load


class Command(BaseCommand):
    help = "Load demo users, teams and the five seed use cases (safe to run again)."

    def handle(self, *args: object, **options: object) -> None:
        summary = demo_load()
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {summary}"))
        self.stdout.write(f"Demo sign-ins (password {DEMO_PASSWORD!r}):")
        for username, (role, specialty, _name) in DEMO_USERS.items():
            suffix = f" ({specialty.label})" if specialty else ""
            self.stdout.write(f"  {username:<9} {role.label}{suffix}")
