from django.apps import AppConfig


class OpsaiConfig(AppConfig):
    """Roles, the permissions module, health and the pieces shared by every app."""

    name = "opsai"
    verbose_name = "opsai"

    def ready(self) -> None:
        """Start a session's clock at sign-in (see ``SessionLimitsMiddleware``)."""
        from django.contrib.auth.signals import user_logged_in

        from opsai.middleware import start_session_clock

        user_logged_in.connect(start_session_clock, dispatch_uid="opsai.start_session_clock")
