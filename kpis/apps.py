from django.apps import AppConfig


class KpisConfig(AppConfig):
    """KPI stacks, measurements, snapshots and the executive dashboards."""

    name = "kpis"
    verbose_name = "KPIs"
