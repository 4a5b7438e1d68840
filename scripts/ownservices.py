"""PostgreSQL, Redis and opsai processes of one's own, on free ports, for fault drills.

``make faults``, ``make load`` and ``tests/opsai/test_db_restart.py`` stop, freeze and
restart these — never the shared PostgreSQL (5432) or Redis (6379) others are using.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else "python3"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    check: Callable[[], bool], *, what: str, timeout: float = 30, every: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout} s")
        time.sleep(every)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; run them as the postgres user then.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class OwnPostgres:
    """A throw-away PostgreSQL cluster in a temporary directory, trusting local connections."""

    port: int = field(default_factory=free_port)
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="opsai-pg-")))

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> OwnPostgres:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        if not self.data.exists():
            subprocess.run(
                _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                              "-A", "trust", "--no-sync", "-E", "UTF8"]),
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        # fsync off: a drill needs a database that restarts, not one that survives power loss.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                          "-o", options, "-w", "-t", "60", action, *extra]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, then the server comes back."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")

    def create_database(self, name: str) -> str:
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    name,
                ]
            ),
            check=True,
        )
        return self.url(name)

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class OwnRedis:
    """A redis-server without persistence on a free port; it can be stopped and frozen."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="opsai-redis-")))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: port_open(self.port), what="redis")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.thaw()
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def freeze(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def manage(env: dict[str, str], *args: str) -> None:
    """Run ``manage.py`` with this environment, failing loudly."""
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


def start_process(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a long-running opsai process (gunicorn, celery) in its own process group."""
    handle = log.open("ab")
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_process(process: subprocess.Popen[bytes] | None, *, sig: int = signal.SIGTERM) -> None:
    """Stop a process started by :func:`start_process`, and its children, by its group id."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def gunicorn(
    env: dict[str, str], port: int, log: Path, *, workers: int = 2
) -> subprocess.Popen[bytes]:
    """Serve opsai with gunicorn on 127.0.0.1:port and wait until it answers."""
    process = start_process(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "opsai.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "60"],
        env, log,
    )  # fmt: skip
    wait_for(lambda: port_open(port), what="gunicorn", timeout=60)
    return process


def base_env(database_url: str, redis_url: str, run_id: str, var_dir: Path) -> dict[str, str]:
    """The environment of every process of one drill: its own database, broker and queue."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": run_id,
        "CACHE_KEY_PREFIX": run_id,
        "OPSAI_VAR_DIR": str(var_dir),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }


class WebSession:
    """A signed-in browser session against a running opsai, with the standard library only."""

    def __init__(self, base_url: str, *, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def _cookie(self, name: str) -> str:
        return next((cookie.value or "" for cookie in self.cookies if cookie.name == name), "")

    def sign_in(self, username: str, password: str) -> None:
        self.request("GET", "/login/")
        form = urllib.parse.urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self._cookie("csrftoken"),
            }
        ).encode()
        status, _, _ = self.request(
            "POST", "/login/", body=form, content_type="application/x-www-form-urlencoded"
        )
        if status != 302:
            raise RuntimeError(f"signing in as {username} answered {status}")

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "",
        json_body: object = None,
    ) -> tuple[int, float, bytes]:
        """Send one request; answer (status, seconds taken, body). Never raises on an HTTP status."""
        headers = {"X-CSRFToken": self._cookie("csrftoken"), "Referer": self.base_url + "/"}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        # The drill's own server on 127.0.0.1, always http.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=body, method=method, headers=headers
        )
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return response.status, time.monotonic() - started, response.read()
        except urllib.error.HTTPError as error:
            return error.code, time.monotonic() - started, error.read()
        except (urllib.error.URLError, OSError):
            return 0, time.monotonic() - started, b""  # no answer at all (refused, reset, timeout)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer in itself (a save's 302); do not follow it.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
