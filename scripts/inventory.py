"""A generated AI use-case inventory as another tool exports it, and the time to onboard it.

    from scripts.inventory import generate_inventory, import_inventory
    generate_inventory(10_000, Path("/tmp/inventory.csv"))     # or .xlsx
    import_inventory(Path("/tmp/inventory.csv"), actor=admin)  # → {"seconds": …, …}

The file has foreign column names ("Use Case ID", "Use Case Name", "Agency", "Bureau",
"Office", "Stage of Development", "Date Implemented", "Rights-Impacting", …), three
organisation levels (4 agencies × 3 bureaus × 3 offices), deployed, piloted, retired
and planned rows, risk flags and contact emails — what a public register looks like.
Deterministic: the same ``rows`` always give the same file.

``import_inventory`` runs the onboarding job in this process, exactly as the worker
does (``usecases.onboarding_jobs.onboarding_run``): upload, the proposed mapping with
"create missing organisation units", then the import; it returns the job's seconds.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

AGENCIES = ["Treasury", "Health", "Transport", "Justice"]
BUREAUS = ["Operations", "Compliance", "Customer services"]
OFFICES = ["North", "Central", "South"]
STAGES = [
    ("Operation and Maintenance", 30),
    ("Retired", 10),
    ("Implementation and Assessment", 20),
    ("Acquisition and/or Development", 15),
    ("Initiated", 25),
]
RISK = ["High risk", "Limited risk", "Minimal risk", "Minimal risk"]
HEADER = [
    "Use Case ID",
    "Use Case Name",
    "Agency",
    "Bureau",
    "Office",
    "Stage of Development",
    "Date Initiated",
    "Date Implemented",
    "Date Retired",
    "Purpose and Benefits",
    "Expected Outcome",
    "Rights-Impacting",
    "Justification",
    "EU AI Act risk class",
    "Point of Contact",
    "Contact email",
    "Uses vendor model",
]


def _stage(n: int) -> str:
    slot = (n * 37) % 100
    for name, share in STAGES:
        if slot < share:
            return name
        slot -= share
    return STAGES[-1][0]


def inventory_rows(rows: int) -> tuple[list[str], list[list[str]]]:
    """The header and ``rows`` rows of the generated inventory."""
    out = []
    for n in range(rows):
        stage = _stage(n)
        deployed = stage in ("Operation and Maintenance", "Retired")
        year = 2019 + n % 5
        impacting = "Yes" if n % 7 == 0 else ("No" if n % 3 else "")
        out.append(
            [
                f"INV-{n:06d}",
                f"Inventory use case {n}",
                AGENCIES[n % 4],
                BUREAUS[(n // 4) % 3],
                OFFICES[(n // 12) % 3],
                stage,
                f"{year}-01-15",
                f"{(n % 12) + 1:02d}/15/{year + 1}" if deployed else "",
                f"{year + 3}-06-30" if stage == "Retired" else "",
                f"Case {n}: documents are read and routed by hand.",
                "Cut handling time by 20%",
                impacting,
                "Decides on benefits eligibility" if impacting == "Yes" else "",
                RISK[n % 4] if n % 5 else "",
                f"Contact {n % 97}",
                f"contact{n % 97}@example.gov",
                "Yes" if n % 2 else "No",
            ]
        )
    return HEADER, out


def generate_inventory(rows: int, path: Path) -> Path:
    """Write the inventory to ``path``: an Excel workbook if it ends in .xlsx, else CSV."""
    header, data = inventory_rows(rows)
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(header)
        for row in data:
            sheet.append(row)
        book.save(path)
        return path
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(data)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def import_inventory(path: Path, *, actor: Any, source: str = "inventory") -> dict[str, Any]:
    """Onboard the file as ``actor`` (an admin: units are created) and time the import job.

    Django must be set up. Returns the job's outcome and its seconds in the job.
    """
    from django.db import transaction

    from usecases.onboarding_jobs import onboarding_mapping_set, onboarding_run, onboarding_upload

    path = Path(path)
    with transaction.atomic():
        job = onboarding_upload(
            actor=actor, name=path.name, content=path.read_bytes(), source=source
        )
        job = onboarding_mapping_set(
            job=job,
            actor=actor,
            columns=job.mapping["columns"],
            values=job.mapping["values"],
            options={**job.mapping["options"], "create_units": True},
            check=False,
        )
    started = time.monotonic()
    job = onboarding_run(job_id=job.pk)
    seconds = time.monotonic() - started
    return {
        "job": job.pk,
        "state": job.state,
        "created": job.created,
        "updated": job.updated,
        "refused": job.mapping.get("result", {}).get("refused", 0),
        "seconds": round(seconds, 2),
    }
