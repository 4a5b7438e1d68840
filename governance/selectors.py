"""Reads for governance: lanes, review queues, worker status, the governance page."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    CharField,
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    Window,
)
from django.db.models.functions import Cast
from django.utils import timezone

from governance.choices import (
    LANE_STRICTNESS,
    IncidentStatus,
    Lane,
    ReviewStatus,
    SignOffDecision,
    SignOffRole,
    WorkerStatus,
)
from governance.models import (
    AIWorker,
    ChecklistItem,
    Incident,
    LaneAssignment,
    LanePolicy,
    LaneRule,
    Release,
    Review,
    SignOff,
    Vendor,
)
from governance.policy import describe_match, rule_matches
from governance.rules import user_can_sign_role
from usecases import lifecycle
from usecases.models import Team, UseCase
from usecases.risk import risk_lane_floor
from usecases.selectors import (
    units_product_owned_by,
    usecase_obligation_counts,
    usecase_visibility,
    usecase_visible_to,
)
from usecases.services import RISK_FIELDS
from usecases.units import unit_breakdown, unit_subtree_q, unit_tree

# The use-case fields a decision freezes; a later change to any of them forces a new review.
FROZEN_FIELDS: tuple[str, ...] = (
    "title",
    "problem",
    "current_workflow",
    "business_outcome",
    "value_bucket",
    "systems_touched",
    "cases_per_week",
    *RISK_FIELDS,
)


def lane_policy_current() -> LanePolicy:
    """The policy in force: the highest version."""
    return LanePolicy.objects.order_by("-version").first()


def lane_decide(*, policy: LanePolicy, use_case: UseCase) -> tuple[str, LaneRule | None, str]:
    """Which lane ``policy`` puts ``use_case`` in: ``(lane, deciding rule, why)``.

    The first rule (by position) whose conditions all match decides; if none
    does, the use case is Reviewed — the safe default.
    """
    attributes = {name: getattr(use_case, name) for name in RISK_FIELDS}
    for rule in policy.rules.all():
        if rule_matches(rule.conditions, attributes):
            why = describe_match(rule.conditions, attributes)
            reason = f"Rule {rule.position} “{rule.name}”: {why}. {rule.reason}"
            return _risk_floor(use_case, rule.lane, rule, reason)
    reason = "No rule of the policy matched, so it is reviewed by default."
    return _risk_floor(use_case, Lane.REVIEWED, None, reason)


def _risk_floor(
    use_case: UseCase, lane: str, rule: LaneRule | None, reason: str
) -> tuple[str, LaneRule | None, str]:
    # The risk scheme's floor holds under any policy an admin writes: a policy that
    # forgot the risk rules cannot let a high-risk use case through unreviewed.
    floor, why = risk_lane_floor(risk_class=use_case.risk_class, high_impact=use_case.high_impact)
    if floor and LANE_STRICTNESS[floor] > LANE_STRICTNESS[lane]:
        # The rule that matched stays on record; the reason says the floor overrode it.
        return floor, rule, f"At least {Lane(floor).label} because of {why}. ({reason})"
    return lane, rule, reason


def approved_review_missing() -> Q:
    """The condition on ``UseCase``: never had a review approved — the Allowed lane aside,
    which reaches approved without one (``governance.lifecycle``). NOT IN over uncorrelated
    subqueries, which PostgreSQL hashes once, so it also counts inside an aggregate's FILTER."""
    return ~Q(
        pk__in=Review.objects.filter(status=ReviewStatus.APPROVED).values("use_case_id")
    ) & ~Q(pk__in=LaneAssignment.objects.filter(lane=Lane.ALLOWED).values("use_case_id"))


def lane_assignment_of(use_case: UseCase) -> LaneAssignment:
    """The use case's lane and why. One not placed yet is shown as the policy in force would
    place it, unsaved: reading a page never writes (the next change to it places it)."""
    assignment = (
        LaneAssignment.objects.filter(use_case=use_case).select_related("rule", "policy").first()
    )
    if assignment is not None:
        return assignment
    policy = lane_policy_current()
    if policy is None:
        return LaneAssignment(
            use_case=use_case, lane=Lane.REVIEWED, reason="No lane policy yet: reviewed by default."
        )
    lane, rule, reason = lane_decide(policy=policy, use_case=use_case)
    return LaneAssignment(use_case=use_case, lane=lane, rule=rule, policy=policy, reason=reason)


def review_latest(use_case: UseCase) -> Review | None:
    """The use case's most recent review (the one that counts now), if any."""
    return Review.objects.filter(use_case=use_case).order_by("-opened_at", "-pk").first()


def review_open_of(use_case: UseCase) -> Review | None:
    """The use case's open review, if one is open."""
    return Review.objects.filter(use_case=use_case, status=ReviewStatus.OPEN).first()


def required_sign_off_roles(use_case: UseCase) -> list[str]:
    """Which roles must sign off a review of ``use_case``, from its attributes.

    The product owner and IT platform always; security when a vendor model or any
    non-public data is involved; legal & compliance only when it is customer-facing
    or handles personal data.
    """
    roles = [SignOffRole.PRODUCT_OWNER, SignOffRole.IT_PLATFORM]
    if use_case.vendor_model or use_case.data_sensitivity in ("internal", "personal"):
        roles.append(SignOffRole.SECURITY)
    if use_case.audience == "customer_facing" or use_case.data_sensitivity == "personal":
        roles.append(SignOffRole.LEGAL)
    return [str(role) for role in roles]


def users_for_role(role: str) -> QuerySet:
    """Active users who can give a sign-off of ``role``."""
    User = get_user_model()
    users = User.objects.filter(is_active=True)
    if role == SignOffRole.PRODUCT_OWNER:
        return users.filter(groups__name="Product owner")
    return users.filter(groups__name="Reviewer", profile__reviewer_specialty=role)


# review_queue's orders: ``?sort=`` key → the fields it orders by.
REVIEW_QUEUE_SORTS = {
    # waiting, shortest first; "-waiting" (longest first, oldest assignment) is the default
    "waiting": ("-assigned_at", "-pk"),
    "title": ("review__use_case__title", "pk"),
    "role": ("role", "assigned_at", "pk"),
}


def review_queue(user: Any, *, role: str = "", sort: str = "-waiting") -> QuerySet[SignOff]:
    """Pending sign-offs on open reviews that wait on ``user``, longest-waiting first.

    A sign-off waits on a user who is assigned to it, or who can give it when no one is.
    ``role`` narrows it to one sign-off role; ``sort`` is a key of
    :data:`REVIEW_QUEUE_SORTS`, ``-`` first to reverse it. A queryset, so the page
    pages it in PostgreSQL; :func:`with_waiting` adds each row's age.
    """
    roles = [role for role in SignOffRole.values if user_can_sign_role(user, role)]
    sign_offs = (
        SignOff.objects.filter(
            review__status=ReviewStatus.OPEN,
            decision__in=[SignOffDecision.PENDING, SignOffDecision.CHANGES_REQUESTED],
        )
        .filter(Q(assignee=user) | Q(assignee__isnull=True, role__in=roles))
        .exclude(Q(review__use_case__submitted_by=user) | Q(review__use_case__owner=user))
        .select_related("review__use_case__team", "assignee")
    )
    if SignOffRole.PRODUCT_OWNER in roles:
        # Unassigned, a product-owner sign-off is the unit's product owner's to give (the
        # nearest named up the tree; any while none is): others' would be refused
        # (``governance.rules.sign_off_named_product_owners``), so they do not wait on you.
        sign_offs = sign_offs.exclude(
            Q(role=SignOffRole.PRODUCT_OWNER, assignee__isnull=True)
            & ~Q(review__use_case__team__in=units_product_owned_by(user).values("pk"))
        )
    if role:
        sign_offs = sign_offs.filter(role=role)
    fields = REVIEW_QUEUE_SORTS.get(sort.lstrip("-"), REVIEW_QUEUE_SORTS["waiting"])
    if not sort.startswith("-"):
        return sign_offs.order_by(*fields)
    return sign_offs.order_by(*(f[1:] if f.startswith("-") else f"-{f}" for f in fields))


def with_waiting(sign_offs: Any) -> list[SignOff]:
    """``sign_offs`` as a list, each with ``waiting``: how long it has waited until now."""
    now = timezone.now()
    result = list(sign_offs)
    for sign_off in result:
        sign_off.waiting = now - sign_off.assigned_at
    return result


def review_detail_queryset() -> QuerySet[Review]:
    """Reviews with use case, checklist (and files) and sign-offs, in a fixed number of queries."""
    return Review.objects.select_related(
        "use_case__team", "use_case__owner", "use_case__submitted_by"
    ).prefetch_related(
        Prefetch(
            "checklist",
            queryset=ChecklistItem.objects.select_related("updated_by").prefetch_related("files"),
        ),
        Prefetch("sign_offs", queryset=SignOff.objects.select_related("assignee", "decided_by")),
    )


def worker_current_release(worker: AIWorker) -> Release | None:
    """The latest release that is not a rollback and has not been rolled back."""
    return (
        Release.objects.filter(worker=worker, rollback_of__isnull=True, rolled_back_by__isnull=True)
        .order_by("-deployed_at", "-pk")
        .first()
    )


def worker_list() -> QuerySet[AIWorker]:
    """AI workers with their use case and vendor, ready for a table."""
    return AIWorker.objects.select_related("use_case__team", "vendor", "paused_by")


def worker_status(worker: AIWorker) -> dict[str, Any]:
    """What a worker runtime needs to know when it polls: may it run, at which version?"""
    release = worker_current_release(worker)
    return {
        "id": worker.pk,
        "name": worker.name,
        "status": worker.status,
        "paused": worker.status != WorkerStatus.ACTIVE,
        "paused_at": worker.paused_at,
        "pause_reason": worker.pause_reason,
        "model_version": worker.model_version,
        "current_version": release.version if release else None,
        "human_approval_threshold": worker.human_approval_threshold,
    }


LANE_CARD_ROWS = 15


def governance_overview(
    *, viewer: Any = None, today: date | None = None, unit: Team | None = None
) -> dict[str, Any]:
    """Everything the governance page shows but its open reviews (:func:`open_reviews`,
    which the page pages), in a fixed number of queries.

    Over the use cases ``viewer`` may see: someone else's draft is in no lane, count or
    list (``usecases.selectors.usecase_visibility``; without a viewer, submitted only).
    With ``unit``, only the use cases of that organisation unit and the units below it;
    ``lanes_by_unit`` counts the lanes of the unit and of each unit right below it.
    """
    today = today or timezone.localdate()
    visible = usecase_visibility(viewer, through="use_case__") & unit_subtree_q(
        unit, through="use_case__team__"
    )
    units = unit_tree()  # the unit filter's choices and the per-unit table's tree
    lanes_by_unit = unit_breakdown(
        LaneAssignment.objects.filter(visible),
        unit_field="use_case__team_id",
        key_field="lane",
        keys=tuple(Lane.values),
        unit=unit,
        units=units,
    )
    # Each lane's total from that breakdown, not a GROUP BY of its own: the selected
    # unit's row, or else the top-level units' rows (every unit sits under one of them).
    lane_counts: dict[str, int] = {}
    for row in lanes_by_unit[:1] if unit is not None else lanes_by_unit:
        for lane, n in row.counts.items():
            lane_counts[lane] = lane_counts.get(lane, 0) + n
    # A lane can hold thousands: each card lists its latest decisions, one bounded
    # query per lane (the lane API and each use case's page hold the rest).
    lanes = [
        {
            "value": lane.value,
            "label": lane.label,
            "count": lane_counts.get(lane.value, 0),
            "assignments": list(
                LaneAssignment.objects.filter(visible, lane=lane.value)
                .select_related("use_case", "rule")
                .order_by("-assigned_at", "-pk")[:LANE_CARD_ROWS]
            ),
        }
        for lane in Lane
    ]
    return {
        "lanes": lanes,
        "paused_workers": _latest_with_total(
            worker_list().filter(visible, status=WorkerStatus.PAUSED).order_by("-paused_at")
        ),
        "open_incidents": _latest_with_total(
            Incident.objects.filter(visible, status=IncidentStatus.OPEN)
            .select_related("use_case", "worker")
            .order_by("-opened_at")
        ),
        "overdue_vendors": list(Vendor.objects.filter(next_review_due__lt=today)),
        "policy": lane_policy_current(),
        "obligations": [o for o in obligations_overview(viewer) if o["summary"].count],
        "unit": unit,
        "unit_choices": [(u.pk, u.path_label) for u in units],
        "lane_columns": Lane.choices,
        "lanes_by_unit": lanes_by_unit,
    }


def obligations_overview(viewer: Any) -> list[dict[str, Any]]:
    """Each obligation over the use cases ``viewer`` may see: its count by stage and the
    first few use cases owing it (one count query for all, then a bounded list per obligation)."""
    visible = UseCase.objects.filter(usecase_visibility(viewer))
    overview = []
    for counted, obligation in zip(
        usecase_obligation_counts(visible), lifecycle.obligations(), strict=True
    ):
        owing = lifecycle.obligation_owed_by(obligation, visible).select_related("team")
        overview.append(
            {
                "summary": counted,
                "use_cases": [
                    (use_case, obligation.resolve_url(use_case))
                    for use_case in owing.order_by("title", "pk")[:LANE_CARD_ROWS]
                ],
                "resolve_label": obligation.resolve_label,
            }
        )
    return overview


def _latest_with_total(queryset: QuerySet[Any]) -> dict[str, Any]:
    """The first :data:`LANE_CARD_ROWS` of ``queryset`` and how many there are, in one query
    (a window count is taken before the LIMIT)."""
    rows = list(queryset.annotate(total=Window(Count("pk")))[:LANE_CARD_ROWS])
    return {"rows": rows, "count": rows[0].total if rows else 0}


# open_reviews' orders: ``?sort=`` key → the field; "-age" (oldest first) is the default.
OPEN_REVIEW_SORTS = {"age": "opened_at", "title": "use_case__title", "pending": "pending_count"}


def open_reviews(
    *, viewer: Any = None, sort: str = "-age", unit: Team | None = None
) -> QuerySet[Review]:
    """Open reviews of the use cases ``viewer`` may see, with ``pending_count`` (sign-offs
    not yet approved), oldest first by default. A queryset: the page pages it."""
    key = sort.lstrip("-") if sort.lstrip("-") in OPEN_REVIEW_SORTS else "age"
    field = OPEN_REVIEW_SORTS[key]
    # "age" descending is the oldest first, i.e. opened_at ascending.
    descending = sort.startswith("-") != (key == "age")
    order = F(field).desc() if descending else F(field).asc()
    return (
        Review.objects.filter(
            usecase_visibility(viewer, through="use_case__"),
            unit_subtree_q(unit, through="use_case__team__"),
            status=ReviewStatus.OPEN,
        )
        .select_related("use_case__team")
        .annotate(
            pending_count=Count(
                "sign_offs", filter=~Q(sign_offs__decision=SignOffDecision.APPROVED)
            ),
        )
        .order_by(order, "pk")
    )


def with_age(reviews: Any) -> list[Review]:
    """``reviews`` as a list, each with ``age``: how long it has been open."""
    now = timezone.now()
    result = list(reviews)
    for review in result:
        review.age = now - review.opened_at
    return result


def audit_events_visible_to(queryset: QuerySet[Any], viewer: Any) -> QuerySet[Any]:
    """``queryset`` of audit events minus those about a draft ``viewer`` may not see, or
    about its KPIs: the trail must not list what the pages answer 404 for.

    Two NOT IN subqueries in the WHERE clause (audit ids are text), no extra query.
    """
    visible = usecase_visible_to(UseCase.objects.all(), viewer).values("pk")
    hidden = UseCase.objects.exclude(pk__in=visible)
    hidden_use_cases = hidden.annotate(key=Cast("pk", CharField())).values("key")
    # The KPIs through UseCase's reverse relation: governance does not import kpis.
    hidden_kpis = (
        hidden.filter(kpis__isnull=False).annotate(key=Cast("kpis__pk", CharField())).values("key")
    )
    return queryset.exclude(object_type="usecases.usecase", object_id__in=hidden_use_cases).exclude(
        object_type="kpis.kpi", object_id__in=hidden_kpis
    )


def incident_source_keys(keys: list[str]) -> set[str]:
    """Which of ``keys`` (e.g. ``kpis.alert:12``) already have their incident."""
    return set(Incident.objects.filter(source_key__in=keys).values_list("source_key", flat=True))
