"""Demo governance data: vendors, an approved use case with an AI worker and its releases,
a closed incident that changed a rule, and an open review of the customer-facing support triage.

Safe to run twice: every step looks for what it would create first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.choices import ReviewStatus
from governance.models import AIWorker, Review, Vendor
from governance.services import (
    aiworker_create,
    incident_close,
    incident_open,
    incident_step_update,
    lane_of,
    release_create,
    release_rollback,
    review_checklist_update,
    review_sign_off,
    vendor_save,
)
from usecases.choices import Stage
from usecases.models import UseCase
from usecases.services import usecase_move_stage

VENDORS = [
    {
        "name": "Northwind Models",
        "security_posture": "SOC 2 type II, ISO 27001; SSO and audit logs.",
        "retention_policy": "Prompts and outputs kept 30 days, never used for training.",
        "sla": "99.9% monthly, 4h response for P1",
        "review_in_days": 120,
    },
    {
        "name": "Contoso Language Cloud",
        "security_posture": "SOC 2 type I; pen test yearly.",
        "retention_policy": "Logs kept 90 days.",
        "sla": "99.5% monthly",
        "review_in_days": -14,  # overdue: shows on the governance page
    },
]


@transaction.atomic
def load(users: dict[str, Any]) -> dict[str, Any]:
    today = timezone.localdate()
    vendors = {}
    for spec in VENDORS:
        vendor = Vendor.objects.filter(name=spec["name"]).first()
        if vendor is None:
            data = {k: v for k, v in spec.items() if k != "review_in_days"}
            data["last_reviewed_on"] = today - timedelta(days=365 - spec["review_in_days"])
            data["next_review_due"] = today + timedelta(days=spec["review_in_days"])
            vendor = vendor_save(actor=users["admin"], data=data)
        vendors[spec["name"]] = vendor
    for use_case in UseCase.objects.all():
        lane_of(use_case, actor=users["admin"])
    summary = {"vendors": len(vendors)}
    collections = UseCase.objects.filter(template_key="collections_outreach").first()
    if collections is not None:
        summary["worker"] = _approved_with_worker(collections, users, vendors["Northwind Models"])
    support = UseCase.objects.filter(template_key="support_triage").first()
    if support is not None:
        summary["review"] = _open_review(support, users)
    return summary


def _walk_to(use_case: UseCase, stages: list[Stage], actor: Any) -> None:
    for stage in stages:
        use_case.refresh_from_db()
        if use_case.stage == stage or use_case.stage in stages[stages.index(stage) + 1 :]:
            continue
        usecase_move_stage(use_case=use_case, to_stage=stage, actor=actor, note="demo")


def _approved_with_worker(use_case: UseCase, users: dict[str, Any], vendor: Vendor) -> str:
    """Collections outreach is Allowed: it goes straight from review to approved, then pilot."""
    _walk_to(use_case, [Stage.SCORING, Stage.REVIEW, Stage.APPROVED, Stage.PILOT], users["ops"])
    worker = AIWorker.objects.filter(use_case=use_case, name="Collections drafter").first()
    if worker is not None:
        return worker.name
    worker = aiworker_create(
        use_case=use_case,
        actor=users["owner"],
        data={
            "name": "Collections drafter",
            "tasks_handled": "Drafts reminder emails for overdue invoices, prioritised by risk score.",
            "human_role": "A collections agent reads and sends every draft; the team lead samples "
            "10 a week. Good = no wrong amounts, reply rate up.",
            "vendor": vendor,
            "model_name": "northwind-writer",
            "model_version": "2026-09",
            "autonomy": "draft",
            "human_approval_threshold": 500,
            "auto_pause_on_guardrail": True,
            "escalation_contacts": ["collections-lead@example.com"],
        },
    )
    now = timezone.now()
    release_create(worker=worker, actor=users["owner"], version="1.0", notes="Pilot go-live.",
                   deployed_at=now - timedelta(days=40))  # fmt: skip
    bad = release_create(worker=worker, actor=users["owner"], version="1.1",
                         notes="Adds payment-plan offers.", deployed_at=now - timedelta(days=12))  # fmt: skip
    incident = incident_open(
        use_case=use_case, worker=worker, actor=users["owner"], title="Wrong amount in 7 reminders",
        severity="medium", what_happened="Release 1.1 quoted the invoice total instead of the balance due.",
        affected="7 customers, invoices INV-2201..2207", affected_count=7,
    )  # fmt: skip
    release_rollback(release=bad, actor=users["owner"], notes="Rolled back after incident.")
    steps = {
        "stop": (users["owner"], "Paused the drafter at 09:12; agents wrote reminders by hand."),
        "contain": (users["ops"], "Ledger query found the 7 reminders with the wrong amount."),
        "correct": (users["ops"], "Human-approved apology with the right balance sent to all 7."),
        "reconcile": (users["ops"], "No payment was taken on a wrong amount; ledger matches."),
        "review": (
            users["owner"],
            "Amounts above 500 now need an agent's approval before sending.",
        ),
    }
    for step in incident.steps.all():
        owner, notes = steps[step.kind]
        incident_step_update(
            step=step, actor=users["owner"], owner=owner, notes=notes, done=True,
            rule_change="human approval above 500" if step.kind == "review" else "",
        )  # fmt: skip
    incident_close(incident=incident, actor=users["owner"])
    release_create(worker=worker, actor=users["owner"], version="1.2",
                   notes="Balance due, with a check against the ledger.")  # fmt: skip
    return worker.name


def _open_review(use_case: UseCase, users: dict[str, Any]) -> str:
    """Support triage is customer-facing: it waits in review with some sign-offs given."""
    if use_case.reviews.exists():
        return "exists"
    _walk_to(use_case, [Stage.SCORING, Stage.REVIEW], users["ops"])
    review = Review.objects.filter(use_case=use_case, status=ReviewStatus.OPEN).first()
    if review is None:
        return "none"
    answers = {
        "model_vendor_risk": "Northwind: SOC 2 type II, 30-day retention, 99.9% SLA.",
        "data_handling": "Ticket subject and body; stays in the EU tenant; prompts and routings logged.",
        "monitoring": "Routing precision daily, misroute rate and complaint rate weekly.",
        "escalation": "Support duty lead is paged; the kill switch in opsai pauses routing.",
    }
    for item in review.checklist.all():
        if item.key in answers:
            review_checklist_update(
                item=item, actor=users["ops"], answer=answers[item.key],
                evidence_text="Northwind trust pack (2026) and the support data-flow diagram.",
                evidence_links=["https://trust.northwind.example/soc2"],
            )  # fmt: skip
    it = review.sign_offs.filter(role="it_platform").first()
    if it is not None:
        review_sign_off(sign_off=it, actor=users["it"], decision="changes_requested",
                        comment="Auditability is still blank: tie routings to the ticket id.")  # fmt: skip
    return f"review {review.pk}"


def counts() -> list[tuple[int, str, str]]:
    """What the demo left, for ``load_demo``'s summary line: (how many, one, many)."""
    return [
        (AIWorker.objects.count(), "AI worker", "AI workers"),
        (Review.objects.filter(status=ReviewStatus.OPEN).count(), "open review", "open reviews"),
    ]
