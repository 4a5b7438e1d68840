"""WSGI entry point (gunicorn ``opsai.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

from opsai.config import ConfigurationError, exit_with_configuration_error
from opsai.startup import verify_database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsai.settings")

try:
    application = get_wsgi_application()
    verify_database()
except ConfigurationError as error:
    exit_with_configuration_error(error)
