"""Checks that run when a server process starts, before it accepts work."""

from __future__ import annotations

from django.db import OperationalError, connections

from opsai.config import ConfigurationError, redact_url


def verify_database() -> None:
    """Open a connection to the default database or raise :class:`ConfigurationError`."""
    from django.conf import settings

    connection = connections["default"]
    try:
        connection.ensure_connection()
    except OperationalError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise ConfigurationError(
            "DATABASE_URL", f"cannot connect to {redact_url(settings.DATABASE_URL)} ({reason})"
        ) from error
