from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only audit trail every app writes to (``audit.services.audit_record``)."""

    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        """Put sign-ins, failed sign-ins and sign-outs on the trail, and audit every admin.

        ``django.contrib.admin`` comes first in ``INSTALLED_APPS``, so by now its ready()
        has imported every app's admin module, libraries' included.
        """
        from django.contrib import admin

        from audit import receivers
        from audit.admin import audit_library_admins

        receivers.connect()
        audit_library_admins(admin.site)
