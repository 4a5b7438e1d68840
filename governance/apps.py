from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Lanes, reviews, AI workers, kill switch, incidents and the audit trail."""

    name = "governance"
    verbose_name = "Governance"
