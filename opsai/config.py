"""Configuration errors that stop opsai at start with one clear line.

Settings, ``manage.py``, the WSGI entry point and the Celery worker all raise
:class:`ConfigurationError`; the entry points print ``opsai: <SETTING>: <what is
wrong>`` and exit, so an operator sees which variable to fix instead of a traceback.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit


class ConfigurationError(Exception):
    """A setting read from the environment is missing, malformed or unusable."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


def exit_with_configuration_error(error: ConfigurationError) -> None:
    """Print the one-line message for ``error`` to stderr and exit with status 2."""
    sys.stderr.write(f"opsai: configuration error: {error}\n")
    sys.exit(2)


SUPPORTED_DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


def validate_database_url(url: str) -> None:
    """Reject a ``DATABASE_URL`` that cannot possibly name a database.

    django-environ is lenient: a typo like ``postgress://`` or a URL with no
    database name parses into something Django only rejects much later, with a
    traceback. Catch those here.
    """
    parts = urlsplit(url)
    if parts.scheme not in SUPPORTED_DATABASE_SCHEMES:
        raise ConfigurationError(
            "DATABASE_URL",
            f"unsupported scheme {parts.scheme or '(none)'!r} in {redact_url(url)!r}; "
            "use postgres://user@host:5432/name or sqlite:///path/to/file.sqlite3",
        )
    if parts.scheme != "sqlite":
        if not parts.hostname:
            raise ConfigurationError("DATABASE_URL", f"no host in {redact_url(url)!r}")
        if not parts.path.strip("/"):
            raise ConfigurationError("DATABASE_URL", f"no database name in {redact_url(url)!r}")
        try:
            parts.port  # noqa: B018 - accessing .port validates it
        except ValueError as error:
            raise ConfigurationError("DATABASE_URL", f"bad port in {redact_url(url)!r}") from error


def validate_redis_url(url: str) -> None:
    """Reject a ``REDIS_URL`` that is not a redis:// or rediss:// address."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ConfigurationError(
            "REDIS_URL", f"expected redis://host:6379/0, got {redact_url(url)!r}"
        )


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced, safe to print."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url
