#!/usr/bin/env python
"""Django's command-line utility, with opsai's one-line configuration errors."""

import os
import sys

# Commands that serve or change data: they must reach the database before starting.
COMMANDS_NEEDING_DATABASE = {"runserver", "migrate", "load_demo", "createsuperuser", "shell"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsai.settings")
    from opsai.config import ConfigurationError, exit_with_configuration_error

    try:
        import django

        django.setup()
        if len(sys.argv) > 1 and sys.argv[1] in COMMANDS_NEEDING_DATABASE:
            from opsai.startup import verify_database

            verify_database()
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ConfigurationError as error:
        exit_with_configuration_error(error)


if __name__ == "__main__":
    main()
