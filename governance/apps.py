from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Lanes, reviews, AI workers, kill switch and incidents."""

    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        # Registering needs the models loaded, which is what ready() is for.
        from audit.display import register_action_labels
        from governance import lifecycle, needs, receivers
        from governance.display import AUDIT_ACTION_FIELDS, AUDIT_ACTION_LABELS
        from kpis.signals import kpi_alert_fired

        register_action_labels(AUDIT_ACTION_LABELS, AUDIT_ACTION_FIELDS)
        lifecycle.register()
        needs.register()
        kpi_alert_fired.connect(receivers.guardrail_alert, dispatch_uid="governance.guardrail")
