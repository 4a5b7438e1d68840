"""Shared fixtures: users for every role, a real Celery worker, the real Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls
# from the same thread are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.factories import user_with_role


def pytest_configure(config: pytest.Config) -> None:
    """Hash test users' passwords with MD5: PBKDF2's deliberate slowness made up most of
    the suite's time. Production and `make run` keep the strong default."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _no_background_delay_check() -> None:
    """Pages check the outbox for the delay banner at most every 10 s per process; pin
    the answer to "not delayed, just checked" so query counts do not depend on timing
    (tests/opsai/test_delay_banner.py forgets it to check for real)."""
    from opsai.selectors import background_delay_remember

    background_delay_remember(None)


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    """Build a user holding a role (or none): ``make_user("Ops lead", username="ops")``."""
    return user_with_role


@pytest.fixture
def ops_lead(make_user: Callable[..., Any]) -> Any:
    return make_user("Ops lead", username="ops")


@pytest.fixture
def executive(make_user: Callable[..., Any]) -> Any:
    return make_user("Executive", username="exec")


@pytest.fixture
def product_owner(make_user: Callable[..., Any]) -> Any:
    return make_user("Product owner", username="owner")


@pytest.fixture
def admin_user(make_user: Callable[..., Any]) -> Any:
    return make_user("Admin", username="admin")


@pytest.fixture
def roleless_user(make_user: Callable[..., Any]) -> Any:
    return make_user(None, username="outsider")


# --- A real Celery worker over Redis ------------------------------------------------------


@pytest.fixture
def celery_worker(transactional_db: None, tmp_path: Path) -> Iterator[Path]:
    """Start ``celery worker`` as a subprocess on the test database and broker.

    The worker reads the same environment as the tests (``REDIS_URL``,
    ``CELERY_QUEUE``) with ``DATABASE_URL`` pointed at the test database, so a
    job enqueued by a test is consumed by a real worker process. Yields the log path.
    """
    from django.conf import settings
    from django.db import connection

    if not settings.REDIS_URL:
        pytest.fail("Celery tests need REDIS_URL (make test sets it)")
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    database_url = f"postgres://{user}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    log_path = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": database_url}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "opsai", "worker",
                "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
                "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-n", f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_for(
            lambda: "ready." in log_path.read_text(), timeout=60, what="worker start", log=log_path
        )
        yield log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for(condition: Callable[[], bool], *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


@pytest.fixture
def wait_for(celery_worker: Path) -> Callable[..., None]:
    """``wait_for(lambda: ..., timeout=30, what="...")`` polls until true or fails with the worker log."""

    def waiter(
        condition: Callable[[], bool], *, timeout: float = 30, what: str = "condition"
    ) -> None:
        _wait_for(condition, timeout=timeout, what=what, log=celery_worker)

    return waiter


@pytest.fixture
def run_outbox(db: None) -> Callable[[str], int]:
    """``run_outbox("opsai.tasks.email_send")`` runs the recorded, unfinished outbox jobs
    of that task here, in order, and marks them done — what a worker does, without one
    (tests that need the real worker use ``celery_worker``). Returns how many ran."""
    from opsai.celery import app
    from opsai.models import OutboxJob
    from opsai.outbox import outbox_finish

    app.loader.import_default_modules()  # every app's tasks module, as a worker loads them

    def run(task_name: str) -> int:
        jobs = list(
            OutboxJob.objects.filter(task_name=task_name).exclude(state="done").order_by("pk")
        )
        for job in jobs:
            app.tasks[job.task_name].apply(args=job.args, kwargs=job.kwargs, throw=True)
            outbox_finish(job.pk)
        return len(jobs)

    return run


# --- The real Chromium through Playwright -------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ],
    }


@pytest.fixture
def sign_in(live_server: Any) -> Callable[..., None]:
    """Sign ``page`` in through the real login form as ``username``."""
    from tests.factories import PASSWORD

    def do_sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    return do_sign_in
