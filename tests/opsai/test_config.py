"""Bad configuration stops opsai at start with one clear line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "OPSAI_ENV", "SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], setting: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith(f"opsai: configuration error: {setting}:"), lines[0]


@pytest.mark.parametrize(
    "url",
    [
        "postgress://postgres@127.0.0.1:5432/opsai",
        "postgres://postgres@127.0.0.1:5432/",
        "not a url",
    ],
)
def test_it_rejects_a_malformed_database_url(url):
    assert_one_clear_line(run(["manage.py", "check"], DATABASE_URL=url), "DATABASE_URL")


def test_it_names_an_unreachable_database():
    result = run(["manage.py", "migrate"], DATABASE_URL="postgres://postgres@127.0.0.1:1/opsai")
    assert_one_clear_line(result, "DATABASE_URL")
    assert "cannot connect" in result.stderr


def test_the_wsgi_entry_point_names_an_unreachable_database():
    result = run(["-c", "import opsai.wsgi"], DATABASE_URL="postgres://postgres@127.0.0.1:1/opsai")
    assert_one_clear_line(result, "DATABASE_URL")


def test_production_refuses_the_default_secret_key():
    result = run(["manage.py", "check"], OPSAI_ENV="production", ALLOWED_HOSTS="opsai.example.com")
    assert_one_clear_line(result, "SECRET_KEY")


def test_production_refuses_debug():
    result = run(
        ["manage.py", "check"],
        OPSAI_ENV="production",
        SECRET_KEY="a-long-enough-production-secret-key-0123456789",
        DEBUG="true",
        ALLOWED_HOSTS="opsai.example.com",
    )
    assert_one_clear_line(result, "DEBUG")


def test_it_rejects_a_malformed_redis_url():
    assert_one_clear_line(run(["manage.py", "check"], REDIS_URL="localhost:6379"), "REDIS_URL")


def test_production_starts_with_a_real_secret():
    result = run(
        ["manage.py", "check", "--deploy"],
        OPSAI_ENV="production",
        SECRET_KEY="Zq8-a-long-enough-production-secret-key-0123456789!-xYw7#kP",
        ALLOWED_HOSTS="opsai.example.com",
    )
    assert result.returncode == 0, result.stderr
