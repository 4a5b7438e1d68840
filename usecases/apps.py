from django.apps import AppConfig


class UsecasesConfig(AppConfig):
    """Teams, use cases, intake, rework radar, scoring and the portfolio."""

    name = "usecases"
    verbose_name = "Use cases"
