"""The first minute of `make run`: one summary line, a worker that reports at once, no
emails over the console, and links in emails on the port the server is really on."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command

from opsai.demo import DEMO_PASSWORD, DEMO_USERS
from opsai.mail import absolute_url
from opsai.tasks import WORKER_HEARTBEAT_KEY

ROOT = Path(__file__).resolve().parent.parent.parent
# What a developer's shell has when they type `make run`: none of the test run's settings.
TEST_ONLY = (
    "DATABASE_URL", "OPSAI_TEST_DATABASE_URL", "REDIS_URL", "CELERY_QUEUE", "CACHE_KEY_PREFIX",
    "EMAIL_URL", "OPSAI_EMAIL_CONSOLE", "OPSAI_SITE_URL", "SITE_URL", "PORT", "DJANGO_SETTINGS_MODULE",
    "MAKEFLAGS", "MAKELEVEL", "MFLAGS",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_in_a_fresh_process(**env: str) -> dict[str, str]:
    """The settings a new process (web server or worker) reads from ``env``."""
    clean = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps({'site': settings.SITE_URL, 'email': settings.EMAIL_BACKEND}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "opsai.settings", **env},
        text=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- Settings ----------------------------------------------------------------------------


def test_the_site_url_follows_port_unless_set_and_mail_is_kept_not_printed(tmp_path: Path) -> None:
    var = {"OPSAI_VAR_DIR": str(tmp_path)}
    from_port = settings_in_a_fresh_process(PORT="8123", **var)
    assert from_port["site"] == "http://127.0.0.1:8123"
    assert from_port["email"] == "django.core.mail.backends.filebased.EmailBackend"
    named = settings_in_a_fresh_process(
        PORT="8223", OPSAI_SITE_URL="https://opsai.example.com/", **var
    )
    assert named["site"] == "https://opsai.example.com"  # the worker's PORT+100 is ignored
    asked = settings_in_a_fresh_process(OPSAI_EMAIL_CONSOLE="1", **var)
    assert asked["email"] == "django.core.mail.backends.console.EmailBackend"


def test_absolute_url_puts_a_path_on_the_site(settings: Any) -> None:
    settings.SITE_URL = "http://127.0.0.1:8123"
    assert absolute_url("/usecases/7/") == "http://127.0.0.1:8123/usecases/7/"


def test_make_run_hands_its_port_to_the_server_the_worker_and_the_links() -> None:
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout  # fmt: skip
    honcho = next(line for line in dry.splitlines() if "honcho" in line)
    assert "OPSAI_SITE_URL=http://127.0.0.1:8123 " in honcho and "--port 8123" in honcho
    load_demo = next(line for line in dry.splitlines() if "load_demo" in line)
    assert "OPSAI_SITE_URL=http://127.0.0.1:8123 " in load_demo


# --- The demo's summary ------------------------------------------------------------------


@pytest.mark.django_db
def test_load_demo_says_what_it_loaded_in_one_line(settings: Any, capsys: Any) -> None:
    settings.SITE_URL = "http://127.0.0.1:8123"
    out = StringIO()
    call_command("load_demo", stdout=out)
    (line,) = out.getvalue().splitlines()
    assert line.startswith("Demo loaded: 5 use cases, ")
    assert "22 KPIs" in line and "1 AI worker," in line
    assert f"{len(DEMO_USERS)} users ({', '.join(DEMO_USERS)}; password {DEMO_PASSWORD})" in line
    assert line.endswith("sign in at http://127.0.0.1:8123/")
    printed = capsys.readouterr()
    assert "Subject:" not in printed.out + printed.err


# --- The worker reports at once ------------------------------------------------------------


@pytest.fixture
def no_heartbeat_yet() -> None:
    """Listed before ``celery_worker``: the key is gone before the worker starts."""
    cache.delete(WORKER_HEARTBEAT_KEY)


@pytest.mark.celery
def test_healthz_is_200_as_soon_as_a_worker_is_ready(
    client: Any, no_heartbeat_yet: None, celery_worker: Path
) -> None:
    """GIVEN no heartbeat yet WHEN a worker without beat starts THEN /healthz turns 200
    within 10 s of it saying ready: it reports on start, not at beat's first tick."""
    deadline = time.monotonic() + 10
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/healthz").json()
        time.sleep(0.2)
    assert client.get("/healthz").json()["worker"]["ok"] is True


# --- `make run` itself ---------------------------------------------------------------------


def _healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@pytest.mark.celery
def test_make_run_shows_one_summary_line_and_is_healthy_within_seconds(tmp_path: Path) -> None:
    """GIVEN a clean checkout's defaults (SQLite and the filesystem broker under var/)
    WHEN `make run PORT=…` starts THEN its output has one demo line naming that port and
    no email, /healthz is 200 within seconds of the server starting (not beat's 30 s),
    and the demo's emails are kept in var/mail/ with links on that port."""
    port = free_port()
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    env["OPSAI_VAR_DIR"] = str(var)
    log_path = tmp_path / "make-run.log"
    with log_path.open("w") as log:
        make = subprocess.Popen(
            ["make", "run", f"PORT={port}"], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        started = None
        deadline = time.monotonic() + 240
        while _healthz(port) != 200:
            assert make.poll() is None, log_path.read_text()[-4000:]
            assert time.monotonic() < deadline, log_path.read_text()[-4000:]
            if started is None and "web.1 started" in log_path.read_text():
                started = time.monotonic()
            time.sleep(0.5)
        assert started is not None
        assert time.monotonic() - started < 25, "healthz took as long as beat's first tick"
        deadline = time.monotonic() + 30
        while len(list((var / "mail").glob("*"))) < 1 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        os.killpg(make.pid, signal.SIGINT)  # the session started above: make and honcho
        try:
            make.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait(timeout=10)
    output = log_path.read_text()
    before_start = output.split("web.1 started")[0]
    demo_lines = [line for line in before_start.splitlines() if line.startswith("Demo loaded")]
    assert len(demo_lines) == 1 and demo_lines[0].endswith(f"http://127.0.0.1:{port}/")
    assert "Subject:" not in output and "Content-Type: text/plain" not in output
    mail = "".join(path.read_text() for path in (var / "mail").glob("*"))
    assert f"http://127.0.0.1:{port}/" in mail
    assert "127.0.0.1:8000" not in mail
