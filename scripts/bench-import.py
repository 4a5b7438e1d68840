"""Time a use-case import of N rows through a real Celery worker, and its peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/opsai_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python scripts/bench-import.py 3000 10000
    … scripts/bench-import.py --inventory 10000

``--inventory``: onboard a generated inventory in another tool's columns
(``scripts/inventory.py``: foreign column names, three organisation levels, deployed,
piloted and retired rows, risk flags) as an admin with the proposed mapping and
"create missing organisation units" — the onboarding job, registration as found and
all. Without it: an .xlsx in opsai's own columns through the all-or-nothing importer.

For each N: writes an .xlsx of N good rows, starts `celery worker --pool=solo` under
/usr/bin/time -v on a queue of its own, queues the import as the import page would
(usecase_import_queue), waits until the job is done, stops the worker and prints the
job's time (claimed → finished, and its two passes) and the worker's peak RSS. The use
cases it creates stay in that database: point DATABASE_URL at a scratch one.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = f"bench-import-{os.getpid()}"
os.environ["CELERY_QUEUE"] = QUEUE
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsai.settings")

import django  # noqa: E402

django.setup()

import openpyxl  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from scripts.inventory import generate_inventory  # noqa: E402
from usecases.imports import usecase_import_queue  # noqa: E402
from usecases.models import ImportJob, Team  # noqa: E402
from usecases.onboarding_jobs import onboarding_mapping_set, onboarding_upload  # noqa: E402


def workbook(rows: int) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["title", "team", "problem", "business_outcome", "value_bucket",
                  "systems_touched", "cases_per_week", "rework_share", "money_movement"])  # fmt: skip
    for n in range(rows):
        sheet.append([f"Bench case {n}", "Finance" if n % 2 else "Support",
                      f"Invoices for vendor {n} are matched by hand", "Cut matching time by 30%",
                      "cost", "erp, finance", 100 + n, 0.2, "no"])  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def queue_inventory(user: object, rows: int) -> tuple[ImportJob, int]:
    """Upload a generated inventory and confirm the proposed mapping: the job is queued."""
    path = generate_inventory(rows, Path(tempfile.gettempdir()) / f"{QUEUE}-inventory-{rows}.csv")
    content = path.read_bytes()
    with transaction.atomic():
        job = onboarding_upload(
            actor=user, name=path.name, content=content, source=f"bench {QUEUE} {rows}"
        )
        job = onboarding_mapping_set(
            job=job,
            actor=user,
            columns=job.mapping["columns"],
            values=job.mapping["values"],
            options={**job.mapping["options"], "create_units": True},
            check=False,
        )
    return job, len(content)


def run(rows: int, *, inventory: bool = False) -> None:
    from django.contrib.auth import get_user_model

    from opsai.roles import role_group

    content = b"" if inventory else workbook(rows)
    user, _ = get_user_model().objects.get_or_create(username="bench-import")
    user.groups.add(role_group("Admin" if inventory else "Ops lead"))
    for name in ("Finance", "Support"):
        Team.objects.get_or_create(name=name)
    log = Path(tempfile.gettempdir()) / f"{QUEUE}-{rows}.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            ["/usr/bin/time", "-v", sys.executable, "-m", "celery", "-A", "opsai", "worker",
             "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-Q", QUEUE, "-n", f"{QUEUE}@%h"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        if inventory:
            job, size = queue_inventory(user, rows)
        else:
            with transaction.atomic():
                job = usecase_import_queue(actor=user, name=f"bench-{rows}.xlsx", content=content)
            size = len(content)
        while (state := ImportJob.objects.values_list("state", flat=True).get(pk=job.pk)) not in (
            "done",
            "failed",
        ):
            time.sleep(0.5)
    finally:
        # Stop celery itself (time's child), so time lives to print what it measured.
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        worker.wait(timeout=60)
    job.refresh_from_db()
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log.read_text())
    took = (job.finished_at - job.started_at).total_seconds()
    print(
        f"{rows:>6} rows, {size / 1024:,.0f} KiB {'inventory .csv' if inventory else '.xlsx'}: "
        f"{state}, {job.created} created, "
        f"{took:.1f} s in the worker ({rows / took:,.0f} rows/s), "
        f"worker peak RSS {int(peak.group(1)) / 1024:,.0f} MiB"
        if peak
        else "peak RSS: not found"
    )


if __name__ == "__main__":
    call_command("migrate", verbosity=0)
    inventory = "--inventory" in sys.argv
    counts = [a for a in sys.argv[1:] if a != "--inventory"]
    for count in counts or ["3000", "10000"]:
        run(int(count), inventory=inventory)
