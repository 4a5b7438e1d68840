from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only audit trail every app writes to (``audit.services.audit_record``)."""

    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        """Put sign-ins, failed sign-ins and sign-outs on the trail."""
        from audit import receivers

        receivers.connect()
