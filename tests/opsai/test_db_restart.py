"""PostgreSQL restarts: no 500 while it is down, no 5xx once it is back.

The in-process tests cut the test connection's backend with ``pg_terminate_backend``
and show the retry (a read) and the 503 (a write); the last test starts a PostgreSQL of
its own, serves opsai from gunicorn on it and restarts it under load.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client

from scripts.ownservices import (
    OwnPostgres,
    WebSession,
    base_env,
    free_port,
    gunicorn,
    manage,
    stop_process,
    wait_for,
)

READ_PATHS = ["/kpis/portfolio/", "/governance/", "/usecases/", "/api/usecases/", "/api/kpis/"]


def _cut_this_connection() -> None:
    """Terminate the backend behind Django's connection, as a PostgreSQL restart does."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432, user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None, dbname=settings_dict["NAME"], autocommit=True,
    ) as other:  # fmt: skip
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The health check runs once per request cycle; it ran already, so the next query
    # meets the dead connection in the middle of the request, as it does mid-restart.
    connection.health_check_done = True


@pytest.mark.django_db(transaction=True)
def test_a_read_whose_connection_dropped_is_retried(executive: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(executive)
    _cut_this_connection()

    response = client.get("/kpis/portfolio/")

    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_an_api_read_whose_connection_dropped_is_retried(executive: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(executive)
    _cut_this_connection()

    response = client.get("/api/usecases/")

    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_write_whose_connection_dropped_answers_503_not_500(ops_lead: Any) -> None:
    # A write is never replayed (it may have been half-way); the client is told to retry.
    client = Client(raise_request_exception=False)
    client.force_login(ops_lead)
    _cut_this_connection()

    response = client.post("/api/usecases/", {"title": "x"}, content_type="application/json")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "database is unavailable" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_a_page_write_whose_connection_dropped_gets_a_page_that_says_so(ops_lead: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(ops_lead)
    _cut_this_connection()

    response = client.post("/usecases/new/", {"title": "x"})

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert b"The database is unavailable for a moment" in response.content


# --- A real restart under load ---------------------------------------------------------


@dataclass
class Answer:
    started: float
    finished: float
    path: str
    status: int


@pytest.fixture
def served_on_own_postgres(tmp_path: Path) -> Iterator[tuple[OwnPostgres, str]]:
    """A PostgreSQL of this test's own with the demo data, and gunicorn serving opsai on it."""
    postgres = OwnPostgres().start()
    server = None
    try:
        database_url = postgres.create_database("opsai")
        run_id = f"q-dbrestart-{uuid.uuid4().hex[:8]}"
        env = base_env(database_url, os.environ.get("REDIS_URL", ""), run_id, tmp_path / "var")
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "load_demo")
        port = free_port()
        server = gunicorn(env, port, tmp_path / "gunicorn.log", workers=2)
        yield postgres, f"http://127.0.0.1:{port}"
    finally:
        stop_process(server)
        postgres.cleanup()


def _read_in_loop(
    session: WebSession, stop: threading.Event, answers: list[Answer], offset: int
) -> None:
    index = offset
    while not stop.is_set():
        path = READ_PATHS[index % len(READ_PATHS)]
        index += 1
        started = time.monotonic()
        status, _, _ = session.request("GET", path)
        answers.append(Answer(started, time.monotonic(), path, status))


def test_a_postgresql_restart_under_load_answers_no_500(
    served_on_own_postgres: tuple[OwnPostgres, str],
) -> None:
    """GIVEN gunicorn (two workers, long-lived connections) on a PostgreSQL of its own
    WHEN that PostgreSQL is restarted (fast shutdown) while four clients keep reading
    THEN no request answers 500; a 503 comes only while it is down; none after it is back.
    """
    postgres, base_url = served_on_own_postgres
    answers: list[Answer] = []
    stop = threading.Event()
    sessions = [WebSession(base_url) for _ in range(4)]
    for session in sessions:
        session.sign_in("exec", "opsai-demo")
    readers = [
        threading.Thread(target=_read_in_loop, args=(session, stop, answers, offset), daemon=True)
        for offset, session in enumerate(sessions)
    ]
    for reader in readers:
        reader.start()
    wait_for(lambda: len(answers) >= 20, what="reads before the restart", timeout=120)
    down_at = time.monotonic()
    postgres.restart()
    up_at = time.monotonic()
    time.sleep(4)
    stop.set()
    for reader in readers:
        reader.join(timeout=30)

    during = [a for a in answers if a.finished >= down_at and a.started <= up_at]
    after = [a for a in answers if a.started > up_at + 0.5]
    print(
        f"restart took {up_at - down_at:.2f} s; answers during it:",
        sorted(Counter(a.status for a in during).items()),
    )
    assert [a for a in answers if a.started < down_at], "no requests before the restart"
    assert during, "no request ran while PostgreSQL restarted"
    assert after, "no requests after the restart"
    failed = [
        (a.path, a.status)
        for a in answers
        if (a.status >= 500 and a.status != 503) or a.status == 0
    ]
    assert failed == [], "a request failed outright"
    assert [(a.path, a.status) for a in after if a.status >= 500] == []
    assert all(
        a.finished >= down_at and a.started <= up_at + 0.5 for a in answers if a.status == 503
    )
