from django.apps import AppConfig


class UsecasesConfig(AppConfig):
    """Organisation units, use cases, intake, rework radar, scoring and the portfolio."""

    name = "usecases"
    verbose_name = "Use cases"

    def ready(self) -> None:
        # Connecting to the user model needs the models loaded, which is what ready() is for.
        from django.conf import settings
        from django.db.models.signals import post_save

        from opsai.display import register_field_choices
        from usecases import gates, needs, receivers
        from usecases.choices import System
        from usecases.models import UseCase

        gates.register()

        # A JSON list of codes cannot carry choices: pages show "CRM, Ticketing" through this.
        register_field_choices(UseCase, "systems_touched", System.choices)
        post_save.connect(
            receivers.user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="usecases.contacts"
        )
        needs.register()
