"""What governance puts in a person's "Needs you" list (``opsai.needs``).

- **reviews to sign**: the sign-offs of open reviews that wait on the user
  (``governance.selectors.review_queue``: assigned to them, or theirs to give when no one
  is; never one separation of duties forbids them, nor another unit's product-owner
  sign-off);
- **incident steps assigned to you**: playbook steps they own, not done, on open incidents;
- **paused AI workers** (a decision): kill switch engaged, waiting for someone to resume
  or retire them.

Each is one COUNT and one LIMITed query.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from governance.choices import IncidentStatus, WorkerStatus
from governance.models import AIWorker, IncidentStep, SignOff
from governance.selectors import review_queue, worker_list
from opsai import formatting
from opsai.needs import NeedItem, register_need
from usecases.selectors import usecase_visibility


def reviews_to_sign(user: Any) -> QuerySet[SignOff]:
    """The sign-offs waiting on ``user``, longest-waiting first: the review queue."""
    return review_queue(user)


def _sign_off_items(user: Any, limit: int) -> list[NeedItem]:
    now = timezone.now()
    return [
        NeedItem(
            title=sign_off.review.use_case.title,
            url=sign_off.review.get_absolute_url(),
            detail=f"{sign_off.get_role_display()} sign-off · waiting "
            f"{formatting.since(sign_off.assigned_at, now)}",
            action="Sign off",
        )
        for sign_off in reviews_to_sign(user)[:limit]
    ]


def incident_steps_of(user: Any) -> QuerySet[IncidentStep]:
    """Playbook steps ``user`` owns that are not done, on open incidents, oldest first."""
    return (
        IncidentStep.objects.filter(
            owner=user, done_at__isnull=True, incident__status=IncidentStatus.OPEN
        )
        .select_related("incident")
        .order_by("incident__opened_at", "position", "pk")
    )


def _step_items(user: Any, limit: int) -> list[NeedItem]:
    return [
        NeedItem(
            title=step.incident.title,
            url=step.incident.get_absolute_url(),
            detail=f"{step.get_kind_display()} · {step.incident.get_severity_display()} "
            f"incident opened {formatting.date(step.incident.opened_at)}",
            action="Record the step",
        )
        for step in incident_steps_of(user)[:limit]
    ]


def paused_workers() -> QuerySet[AIWorker]:
    """AI workers whose kill switch is engaged, on submitted use cases, longest-paused first."""
    return (
        worker_list()
        .filter(usecase_visibility(None, through="use_case__"), status=WorkerStatus.PAUSED)
        .order_by("paused_at", "pk")
    )


def _worker_items(user: Any, limit: int) -> list[NeedItem]:
    return [
        NeedItem(
            title=f"{worker.name} ({worker.use_case.title})",
            url=worker.get_absolute_url(),
            detail=f"Kill switch engaged {formatting.date(worker.paused_at)}"
            + (f": {worker.pause_reason}" if worker.pause_reason else ""),
            action="Decide: resume or retire",
        )
        for worker in paused_workers()[:limit]
    ]


def register() -> None:
    """Register governance's entries in ``opsai.needs``."""
    register_need(
        "reviews-to-sign",
        "Reviews to sign",
        count=lambda user: reviews_to_sign(user).count(),
        items=_sign_off_items,
        see_all=lambda user: reverse("governance:queue"),
    )
    register_need(
        "incident-steps",
        "Incident steps assigned to you",
        count=lambda user: incident_steps_of(user).count(),
        items=_step_items,
        see_all=lambda user: reverse("governance:incidents"),
    )
    register_need(
        "paused-workers",
        "Paused AI workers",
        count=lambda user: paused_workers().count(),
        items=_worker_items,
        decision=True,
        see_all=lambda user: reverse("governance:workers"),
    )
