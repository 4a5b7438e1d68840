"""A 10,000-row inventory posted to the API behind the shipped gunicorn set-up answers at once.

The issue's failure: the file posted to the API behind gunicorn died at its 30 s worker
timeout with an HTML 500 and nothing saved. Here gunicorn runs for real, with the
command docker-compose ships (its workers, its default timeout), on the test database,
and a real Celery worker imports the file in the background.
"""

from __future__ import annotations

import json
import os
import shlex
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from accounts.services import api_token_create
from scripts.inventory import generate_inventory
from scripts.ownservices import ROOT, free_port, port_open, start_process, stop_process, wait_for
from usecases.choices import ImportState, Stage
from usecases.models import ImportJob, UseCase

ROWS = 10_000


def shipped_gunicorn_command(port: int) -> list[str]:
    """docker-compose's web command, bound to 127.0.0.1:port instead of 0.0.0.0:8000."""
    compose = (ROOT / "docker-compose.yml").read_text()
    line = next(
        text for text in compose.splitlines() if text.strip().startswith("command: gunicorn")
    )
    words = shlex.split(line.split("command:", 1)[1])
    words[words.index("--bind") + 1] = f"127.0.0.1:{port}"
    assert "--timeout" not in words  # gunicorn's default: 30 s, the timeout the issue hit
    return [str(ROOT / ".venv" / "bin" / "gunicorn"), *words[1:]]


def multipart(fields: dict[str, str], name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def answers(url: str) -> bool:
    """Whether a gunicorn worker answers at all (health may say 503: no beat runs here)."""
    try:
        with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - 127.0.0.1
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_a_10000_row_inventory_posted_through_gunicorn_answers_202_and_imports_in_the_background(
    celery_worker: Path, admin_user: Any, tmp_path: Path
) -> None:
    """GIVEN gunicorn as shipped and a real Celery worker on the test database
    WHEN an admin posts a generated 10,000-row inventory to the onboarding API (run=true)
    THEN the answer is a 202 within seconds, and the worker imports all 10,000 rows.
    """
    _, key = api_token_create(user=admin_user, name="onboarding test", days=7)
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    if db["PASSWORD"]:
        database_url = database_url.replace("@", f":{db['PASSWORD']}@", 1)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "OPSAI_VAR_DIR": str(tmp_path / "var"),
    }
    server = start_process(shipped_gunicorn_command(port), env, tmp_path / "gunicorn.log")
    try:
        wait_for(lambda: port_open(port), what="gunicorn", timeout=60)
        # The port opens before the workers have loaded opsai: time the upload, not their boot.
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), what="workers", timeout=90)
        content = generate_inventory(ROWS, tmp_path / "inventory.csv").read_bytes()
        body, content_type = multipart(
            {"source": "federal inventory", "run": "true", "options": '{"create_units": true}'},
            "inventory.csv",
            content,
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/usecases/onboarding/",
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "Authorization": f"Token {key}",
                "Accept": "application/json",
            },
        )
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            status, answer = response.status, json.loads(response.read())
        took = time.monotonic() - started

        assert status == 202, answer
        assert took < 10, f"the API took {took:.1f} s to answer"
        job_id = answer["id"]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            state = ImportJob.objects.values_list("state", flat=True).get(pk=job_id)
            if state in (ImportState.DONE, ImportState.FAILED):
                break
            time.sleep(1)
        job = ImportJob.objects.get(pk=job_id)
        assert job.state == ImportState.DONE, job.errors[:5]
        assert UseCase.objects.filter(source="federal inventory").count() == ROWS
        assert job.created == ROWS and job.error_count == 0
        assert UseCase.objects.filter(stage=Stage.PRODUCTION, registered_at__isnull=False).exists()
        seconds = (job.finished_at - job.started_at).total_seconds()
        print(f"\n{ROWS:,} rows: the API answered in {took:.2f} s; the job took {seconds:.1f} s")
    finally:
        stop_process(server)
