from django.apps import AppConfig


class OpsaiConfig(AppConfig):
    """Roles, the permissions module, health and the pieces shared by every app."""

    name = "opsai"
    verbose_name = "opsai"
