"""Factories and helpers for governance tests."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from governance.services import aiworker_create, lane_assign
from tests.factories import UseCaseFactory
from usecases.catalog import USE_CASE_TEMPLATES

RISK = ("data_sensitivity", "audience", "autonomy", "money_movement", "vendor_model")


def use_case_like(template_key: str, *, stage: str = "scoring", **overrides: Any) -> Any:
    """A use case with the risk attributes of a seed template, placed in its lane."""
    template = USE_CASE_TEMPLATES[template_key]
    fields = {name: template[name] for name in RISK}
    fields.update(overrides)
    use_case = UseCaseFactory(title=template["title"], stage=stage, **fields)
    with transaction.atomic():
        lane_assign(use_case=use_case, actor=None)
    return use_case


def worker_for(use_case: Any, actor: Any, **overrides: Any) -> Any:
    """An AI worker for an approved ``use_case`` (its runtime token on ``.runtime_token``)."""
    data = {
        "name": "Triage bot",
        "tasks_handled": "Tags and routes incoming tickets.",
        "human_role": "Tier-1 leads check 5% of routings daily; good = 95% right first time.",
        "model_name": "gpt-x",
        "model_version": "2026-01",
        "autonomy": "suggest",
        "escalation_contacts": ["oncall@example.com"],
        **overrides,
    }
    return aiworker_create(use_case=use_case, actor=actor, data=data)


CHECKLIST_ANSWERS = {
    "model_vendor_risk": "SOC 2 type II, 30-day retention, 99.9% SLA.",
    "data_handling": "Ticket text only; stays in the EU region; prompts logged.",
    "monitoring": "Routing precision daily; complaint rate weekly.",
    "escalation": "Support lead paged; kill switch in opsai.",
    "auditability": "Prompt, output and approval stored against the ticket id.",
}
