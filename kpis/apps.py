from django.apps import AppConfig


class KpisConfig(AppConfig):
    """KPI stacks, measurements, snapshots and the executive dashboards."""

    name = "kpis"
    verbose_name = "KPIs"

    def ready(self) -> None:
        # Registering needs the models loaded, which is what ready() is for.
        from kpis import lifecycle, needs

        lifecycle.register()
        needs.register()
