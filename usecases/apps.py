from django.apps import AppConfig


class UsecasesConfig(AppConfig):
    """Organisation units, use cases, intake, rework radar, scoring and the portfolio."""

    name = "usecases"
    verbose_name = "Use cases"

    def ready(self) -> None:
        # Connecting to the user model needs the models loaded, which is what ready() is for.
        from django.conf import settings
        from django.db.models.signals import post_save

        from usecases import gates, receivers

        gates.register()

        post_save.connect(
            receivers.user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="usecases.contacts"
        )
