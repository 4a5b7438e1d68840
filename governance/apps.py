from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Lanes, reviews, AI workers, kill switch, incidents and the audit trail."""

    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        from governance import receivers
        from kpis.signals import kpi_alert_fired
        from usecases.signals import (
            usecase_changed,
            usecase_created,
            usecase_stage_changed,
            usecase_stage_changing,
        )

        usecase_created.connect(receivers.place_new_use_case, dispatch_uid="governance.lane_new")
        usecase_changed.connect(receivers.recompute_lane, dispatch_uid="governance.lane_changed")
        usecase_stage_changing.connect(receivers.veto_stage_move, dispatch_uid="governance.veto")
        usecase_stage_changed.connect(receivers.after_stage_move, dispatch_uid="governance.moved")
        kpi_alert_fired.connect(receivers.guardrail_alert, dispatch_uid="governance.guardrail")
