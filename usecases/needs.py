"""What use cases put in a person's "Needs you" list (``opsai.needs``).

- **scores to give** — the blind-scoring invitations. opsai keeps no invitation, so one
  is derived: a submitted use case in the Scoring stage that the user may score
  (``usecases.score_usecase``: ops leads and admins) and has no current sheet for under
  the current scoring-model version, in a unit the user works in (owns or submitted a
  use case there, or is its product owner). An ops lead who works in no unit yet, and
  an admin, is invited to every one: otherwise a new scorer would never be asked.
- **imports that failed** — the user's own import and onboarding jobs that failed in the
  last :data:`FAILED_IMPORT_DAYS` days.
- **your use cases blocked on a condition** — the user's own (owner or submitter)
  submitted use cases that owe an obligation of the lifecycle
  (``usecases.lifecycle.obligations``: counted in SQL), shown with the condition, the
  link that resolves it and what the next move forward still needs
  (``lifecycle.unmet_conditions``, asked only for the rows shown).
- **stalled pilots** (a decision) — in Pilot longer than
  ``usecases.lifecycle.PILOT_DECISION_DAYS``
  days without a stage change.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from opsai import formatting
from opsai.needs import NeedItem, register_need
from opsai.permissions import is_admin, is_product_owner
from usecases import lifecycle
from usecases.choices import ImportState, Stage
from usecases.models import ImportJob, Score, ScoringModel, UseCase
from usecases.selectors import units_product_owned_by, usecase_visibility

# A failed import stays on its sender's list this long (then it is history).
FAILED_IMPORT_DAYS = 30


def _works_on(user: Any) -> Q:
    return Q(owner=user.pk) | Q(submitted_by=user.pk)


# --- Scores to give ---------------------------------------------------------------------


def scores_to_give(user: Any) -> QuerySet[UseCase]:
    """Scoring-stage use cases waiting for ``user``'s sheet, longest in the stage first."""
    if not user.has_perm("usecases.score_usecase"):
        return UseCase.objects.none()
    current_model = ScoringModel.objects.order_by("-version").values("pk")[:1]
    scored = Score.objects.filter(
        scorer=user.pk, superseded_at__isnull=True, scoring_model=Subquery(current_model)
    ).values("use_case_id")
    waiting = UseCase.objects.filter(
        usecase_visibility(user), stage=Stage.SCORING, submitted_at__isnull=False
    ).exclude(pk__in=scored)
    if not is_admin(user):
        units = Q(team__in=UseCase.objects.filter(_works_on(user)).values("team_id"))
        if is_product_owner(user):
            units |= Q(team__in=units_product_owned_by(user).values("pk"))
        # Someone who works in no unit yet is asked everywhere (one uncorrelated EXISTS).
        works_nowhere = ~Exists(UseCase.objects.filter(_works_on(user)))
        waiting = waiting.filter(units | Q(works_nowhere))
    return waiting.select_related("team").order_by("stage_entered_at", "pk")


def _score_items(user: Any, limit: int) -> list[NeedItem]:
    return [
        NeedItem(
            title=use_case.title,
            url=f"{use_case.get_absolute_url()}#scores",
            detail=f"{use_case.team.path_label or use_case.team.name} · in scoring since "
            f"{formatting.date(use_case.stage_entered_at)}",
            action="Score it",
        )
        for use_case in scores_to_give(user)[:limit]
    ]


# --- Imports that failed ----------------------------------------------------------------


def imports_failed(user: Any) -> QuerySet[ImportJob]:
    """The user's import and onboarding jobs that failed recently, newest first."""
    since = timezone.now() - timedelta(days=FAILED_IMPORT_DAYS)
    return (
        ImportJob.objects.filter(
            created_by=user.pk, state=ImportState.FAILED, created_at__gte=since
        )
        .defer("content")
        .order_by("-created_at", "-pk")
    )


def _import_items(user: Any, limit: int) -> list[NeedItem]:
    items = []
    for job in imports_failed(user)[:limit]:
        route = "usecases:onboarding_job" if job.source else "usecases:import_job"
        problems = f"{job.error_count} problem{'s' if job.error_count != 1 else ''}"
        items.append(
            NeedItem(
                title=job.filename or f"Import {job.pk}",
                url=reverse(route, args=[job.pk]),
                detail=f"Failed {formatting.date(job.finished_at or job.created_at)} · {problems}; nothing was saved",
                action="See what went wrong",
            )
        )
    return items


# --- Your use cases blocked on a condition ----------------------------------------------


def _owes_any() -> Q:
    owed = Q(pk__in=[])
    for obligation in lifecycle.obligations():
        owed |= lifecycle.obligation_owed_q(obligation)
    return owed


def blocked_use_cases(user: Any) -> QuerySet[UseCase]:
    """The user's own submitted use cases that owe an obligation, each annotated
    ``owes_<n>`` per obligation (in registration order) so a row says which."""
    owes = {
        f"owes_{n}": ExpressionWrapper(lifecycle.obligation_owed_q(o), output_field=BooleanField())
        for n, o in enumerate(lifecycle.obligations())
    }
    return (
        UseCase.objects.filter(_works_on(user), _owes_any(), submitted_at__isnull=False)
        .annotate(**owes)
        .select_related("team")
        .order_by("title", "pk")
    )


def _next_stage(stage: str) -> Stage | None:
    """The move forward from ``stage`` (none from production or a closed stage)."""
    ahead = [s for s in lifecycle.allowed_moves(stage) if s in lifecycle.ORDER]
    current = lifecycle.ORDER.get(Stage(stage), 99) if stage in Stage.values else 99
    forward = [s for s in ahead if lifecycle.ORDER[s] > current]
    return min(forward, key=lambda s: lifecycle.ORDER[s]) if forward else None


def _blocked_items(user: Any, limit: int) -> list[NeedItem]:
    obligations = lifecycle.obligations()
    items = []
    for use_case in blocked_use_cases(user)[:limit]:
        owed = [o for n, o in enumerate(obligations) if getattr(use_case, f"owes_{n}", False)]
        first = owed[0]
        conditions = [f"{use_case.get_stage_display()}, but {o.label}" for o in owed]
        following = _next_stage(use_case.stage)
        if following is not None:
            # Bounded: asked only for the few rows shown, never for the count.
            conditions += [
                c.text for c in lifecycle.unmet_conditions(use_case, following, actor=user)
            ]
        items.append(
            NeedItem(
                title=use_case.title,
                url=first.resolve_url(use_case),
                detail="; ".join(dict.fromkeys(conditions)),
                action=first.resolve_label,
            )
        )
    return items


# --- Stalled pilots (a decision) --------------------------------------------------------


def stalled_pilots() -> QuerySet[UseCase]:
    """Submitted use cases in Pilot for more than ``lifecycle.PILOT_DECISION_DAYS`` days, longest first."""
    since = timezone.now() - timedelta(days=lifecycle.PILOT_DECISION_DAYS)
    return (
        UseCase.objects.filter(
            usecase_visibility(None), stage=Stage.PILOT, stage_entered_at__lt=since
        )
        .select_related("team")
        .order_by("stage_entered_at", "pk")
    )


def _pilot_items(user: Any, limit: int) -> list[NeedItem]:
    now = timezone.now()
    return [
        NeedItem(
            title=use_case.title,
            url=use_case.get_absolute_url(),
            detail=f"In pilot {formatting.since(use_case.stage_entered_at, now)} "
            f"(since {formatting.date(use_case.stage_entered_at)})",
            action="Decide: scale, change or stop",
        )
        for use_case in stalled_pilots()[:limit]
    ]


def register() -> None:
    """Register the use-case entries in ``opsai.needs``."""
    register_need(
        "scores-to-give",
        "Scores to give",
        count=lambda user: scores_to_give(user).count(),
        items=_score_items,
        see_all=lambda user: f"{reverse('usecases:portfolio')}?stage={Stage.SCORING}",
    )
    register_need(
        "imports-failed",
        "Imports that failed",
        count=lambda user: imports_failed(user).count(),
        items=_import_items,
        see_all=lambda user: reverse("usecases:import"),
    )
    register_need(
        "blocked-use-cases",
        "Your use cases blocked on a condition",
        count=lambda user: blocked_use_cases(user).count(),
        items=_blocked_items,
        see_all=lambda user: reverse("usecases:portfolio"),
    )
    register_need(
        "stalled-pilots",
        "Stalled pilots",
        count=lambda user: stalled_pilots().count(),
        items=_pilot_items,
        decision=True,
        see_all=lambda user: f"{reverse('usecases:portfolio')}?stage={Stage.PILOT}",
    )
