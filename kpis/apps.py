from django.apps import AppConfig


class KpisConfig(AppConfig):
    """KPI stacks, measurements, snapshots and the executive dashboards."""

    name = "kpis"
    verbose_name = "KPIs"

    def ready(self) -> None:
        from kpis import receivers
        from usecases.signals import usecase_created, usecase_stage_changing

        usecase_created.connect(receivers.build_template_stack, dispatch_uid="kpis.template_stack")
        usecase_stage_changing.connect(
            receivers.veto_leaving_idea_without_business_kpi, dispatch_uid="kpis.business_kpi_rule"
        )
