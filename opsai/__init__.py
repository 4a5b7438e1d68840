"""opsai: run an operations organisation's portfolio of AI use cases."""

from opsai.celery import app as celery_app

__all__ = ["celery_app"]
