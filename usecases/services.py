"""Writes for use cases. Every state change records an audit event in its transaction.

Create, update and stage moves run the steps the KPI and governance apps registered
with ``usecases.lifecycle`` (KPI stack, lane, review) inside the transaction, so
they commit or roll back with the change itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Greatest
from django.utils import timezone

from audit.services import audit_record
from opsai.permissions import acting_user
from usecases import lifecycle, scoring
from usecases.choices import Stage
from usecases.contacts import contact_user
from usecases.custom_fields import custom_values_clean
from usecases.models import (
    CustomField,
    Score,
    ScoringModel,
    StageChange,
    Team,
    UseCase,
    UseCaseScoreFigures,
)

# The attributes that decide a use case's risk: its lane, its sign-offs, its review.
RISK_FIELDS: tuple[str, ...] = (
    "data_sensitivity",
    "audience",
    "autonomy",
    "money_movement",
    "vendor_model",
    "trains_on_customer_data",
    "exports_data",
    # The classification under settings.RISK_SCHEME (usecases.risk): it sets a lane floor.
    "risk_class",
    "high_impact",
    "high_impact_justification",
)

# The organisation's own fields (``usecases.custom_fields``): key → value, checked there.
CUSTOM_FIELD = "custom"

# The intake fields a person may set (the form's and the API's fields).
INTAKE_FIELDS: tuple[str, ...] = (
    "title",
    "team",
    "owner",
    "contact_name",
    "contact_email",
    "problem",
    "current_workflow",
    "business_outcome",
    "value_bucket",
    "value_claim",
    "systems_touched",
    "cases_per_week",
    "minutes_per_case",
    "rework_share",
    "approvals_needed",
    "teams_touched",
    "kpis_touched",
    "rules_clarity",
    "frequency",
    "expected_automation_share",
    *RISK_FIELDS,
    CUSTOM_FIELD,
)

# What a submitted use case must have. Drafts may leave any of these empty. The two
# yes/no flags default to "no", so they are never missing. Someone must answer for it:
# an owner who is a user, or a contact named by email who is not one yet (inviting them
# links the account, ``usecases.contacts``) — checked by ``usecase_missing_fields``.
# A risk classification is not required: many organisations classify only once a use
# case is worth reviewing, and an unclassified one sets no floor under its lane (the
# policy's rules still apply).
OPTIONAL_FOR_SUBMIT = frozenset(
    {
        "trains_on_customer_data",
        "exports_data",
        "risk_class",
        "high_impact",
        "high_impact_justification",
        CUSTOM_FIELD,
        "owner",
        "contact_name",
        "contact_email",
    }
)
OWNER_OR_CONTACT_MISSING = "Name an owner, or a contact's email if they are not a user yet."
REQUIRED_FOR_SUBMIT: tuple[str, ...] = tuple(
    name for name in INTAKE_FIELDS if name not in OPTIONAL_FOR_SUBMIT
)


def usecase_missing_fields(use_case: UseCase) -> dict[str, str]:
    """Field → "<Label> is required to submit." for every required field left empty."""
    missing = {}
    for name in REQUIRED_FOR_SUBMIT:
        value = getattr(use_case, f"{name}_id" if name in ("team", "owner") else name)
        if value is None or value == "" or value == []:
            label = UseCase._meta.get_field(name).verbose_name
            missing[name] = f"{label[:1].upper()}{label[1:]} is required to submit."
    if use_case.owner_id is None and not use_case.contact_email:
        missing["owner"] = OWNER_OR_CONTACT_MISSING
    return missing


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a field value for audit events and signals."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal):
        # Normalised, so 12 and 12.0 count as the same value (no spurious "changed").
        return f"{value.normalize():f}"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _snapshot(use_case: UseCase, names: tuple[str, ...] | set[str]) -> dict[str, Any]:
    return {
        name: _plain(getattr(use_case, f"{name}_id" if name in ("team", "owner") else name))
        for name in sorted(names)
    }


def _custom_clean(raw: Any, *, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``raw`` custom values; a bad key or value is named under ``custom``."""
    if not isinstance(raw, dict):
        raise ValidationError({CUSTOM_FIELD: "Custom fields must be an object of key → value."})
    try:
        return custom_values_clean(raw, base=base)
    except ValidationError as error:
        raise ValidationError({CUSTOM_FIELD: error.messages}) from error


def _owner_from_contact(use_case: UseCase) -> None:
    """A contact who already has an account is the owner: no invitation needed."""
    if use_case.owner_id is None and use_case.contact_email:
        use_case.owner = contact_user(use_case.contact_email)


def _validate_submittable(use_case: UseCase) -> None:
    missing = usecase_missing_fields(use_case)
    if missing:
        raise ValidationError(missing)


# The note on the stage change a submission makes.
SUBMITTED_NOTE = "Submitted"


def _enter_scoring(use_case: UseCase, actor: Any) -> UseCase:
    """A submitted idea goes on to scoring, as a move of its own: guards and steps run, and
    a guard's refusal (``lifecycle.MoveRefused``) rolls the whole submission back — a
    submitted use case never waits in idea. One that is not an idea (a rejected draft
    submitted) stays where it is: only idea moves on to scoring."""
    if use_case.stage != Stage.IDEA:
        return use_case
    return usecase_move_stage(
        use_case=use_case, to_stage=Stage.SCORING, actor=actor, note=SUBMITTED_NOTE
    )


@transaction.atomic
def usecase_create(
    *,
    actor: Any,
    data: dict[str, Any],
    template_key: str = "",
    submit: bool = False,
) -> UseCase:
    """Create a use case from intake ``data`` (a draft unless ``submit``).

    ``template_key`` names the catalog template it started from; the KPI app
    builds that template's KPI stack when it hears ``usecase_created``. With
    ``submit`` every required field must be filled and the move on to scoring
    allowed (``lifecycle.MoveRefused`` names every unmet condition), or nothing is saved.
    """
    unknown = set(data) - set(INTAKE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown intake fields: {', '.join(sorted(unknown))}.")
    now = timezone.now()
    data = dict(data)
    if CUSTOM_FIELD in data:
        data[CUSTOM_FIELD] = _custom_clean(data[CUSTOM_FIELD], base={})
    use_case = UseCase(
        **data,
        template_key=template_key,
        submitted_by=acting_user(actor),
        stage=Stage.IDEA,
        stage_entered_at=now,
    )
    _owner_from_contact(use_case)
    if submit:
        _validate_submittable(use_case)
        use_case.submitted_at = now
    use_case.full_clean()
    use_case.save()
    # The first stage entry, so time in stage is derived from StageChange alone.
    StageChange.objects.create(
        use_case=use_case,
        from_stage="",
        to_stage=Stage.IDEA,
        changed_by=use_case.submitted_by,
        changed_at=now,
        note="created",
    )
    audit_record(
        actor=actor,
        action="usecase.created",
        target=use_case,
        after={**_snapshot(use_case, INTAKE_FIELDS), "template_key": template_key},
    )
    if submit:
        audit_record(actor=actor, action="usecase.submitted", target=use_case)
    lifecycle.steps_after_create(use_case, actor)
    if submit:
        # After the create steps: the template's KPI stack and the lane are what it needs.
        use_case = _enter_scoring(use_case, actor)
    return use_case


@transaction.atomic
def usecase_update(
    *, use_case: UseCase, actor: Any, data: dict[str, Any], submit: bool = False
) -> UseCase:
    """Change intake fields of ``use_case``; with ``submit`` also submit it, which moves a
    draft on to scoring (all or nothing: a missing field or an unmet condition of the move
    saves nothing)."""
    unknown = set(data) - set(INTAKE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown intake fields: {', '.join(sorted(unknown))}.")
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    before_all = _snapshot(use_case, INTAKE_FIELDS)
    data = dict(data)
    if CUSTOM_FIELD in data:
        # Merged into what is stored: a key left out keeps its value, a blank one clears it.
        data[CUSTOM_FIELD] = _custom_clean(data[CUSTOM_FIELD], base=use_case.custom or {})
    for name, value in data.items():
        setattr(use_case, name, value)
    _owner_from_contact(use_case)
    after_all = _snapshot(use_case, INTAKE_FIELDS)
    changed = {name for name in INTAKE_FIELDS if before_all[name] != after_all[name]}
    submitting = submit and use_case.is_draft
    if submit:
        _validate_submittable(use_case)
    if submitting:
        use_case.submitted_at = timezone.now()
    use_case.full_clean()
    use_case.save()
    if changed:
        before = {name: before_all[name] for name in changed}
        audit_record(
            actor=actor,
            action="usecase.updated",
            target=use_case,
            before=before,
            after={name: after_all[name] for name in changed},
        )
        for follow_on in lifecycle.steps_after_change(use_case, actor, changed):
            use_case = usecase_move_stage(
                use_case=use_case, to_stage=follow_on.to_stage, actor=actor, note=follow_on.note
            )
    if submitting:
        audit_record(actor=actor, action="usecase.submitted", target=use_case)
        use_case = _enter_scoring(use_case, actor)
    return use_case


def usecase_submit(*, use_case: UseCase, actor: Any) -> UseCase:
    """Submit a draft and move it on to scoring: every required field must be filled (each
    missing one is named) and the move allowed (``lifecycle.MoveRefused`` names every
    unmet condition with its link); otherwise nothing changes."""
    if not use_case.is_draft:
        raise ValidationError("This use case has already been submitted.")
    return usecase_update(use_case=use_case, actor=actor, data={}, submit=True)


@transaction.atomic
def usecase_move_stage(*, use_case: UseCase, to_stage: str, actor: Any, note: str = "") -> UseCase:
    """Move ``use_case`` to ``to_stage`` if the lifecycle allows it, recording who and when.

    Every unmet condition is named at once (``lifecycle.MoveRefused``, a ``ValidationError``
    on ``stage`` whose ``conditions`` carry their links). The steps the other apps registered run
    next (a review opens on entering review); a move they ask for follows as a move
    of its own (the Allowed lane goes straight on from review to approved).
    """
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    lifecycle.refuse_unless_allowed(use_case, to_stage, actor=actor)
    move = lifecycle.StageMove(use_case, Stage(use_case.stage), Stage(to_stage), actor)
    now = timezone.now()
    use_case.stage = move.to_stage
    use_case.stage_entered_at = now
    use_case.save(update_fields=["stage", "stage_entered_at", "updated_at"])
    StageChange.objects.create(
        use_case=use_case,
        from_stage=move.from_stage,
        to_stage=move.to_stage,
        changed_by=acting_user(actor),
        changed_at=now,
        note=note,
    )
    audit_record(
        actor=actor,
        action="usecase.stage_moved",
        target=use_case,
        before={"stage": move.from_stage},
        after={"stage": move.to_stage, "note": note},
    )
    for follow_on in lifecycle.steps_after_move(move):
        use_case = usecase_move_stage(
            use_case=use_case, to_stage=follow_on.to_stage, actor=actor, note=follow_on.note
        )
    return use_case


# --- Scoring ------------------------------------------------------------------------------


@transaction.atomic
def scoring_model_create(*, actor: Any, note: str = "", **fields: Any) -> ScoringModel:
    """Create the next scoring-model version; fields not given are copied from the current one.

    Versions are immutable: changing a weight or threshold always means a new version.
    """
    # Lock the newest version so two admins cannot both create "the next" one.
    latest = ScoringModel.objects.select_for_update().order_by("-version").first()
    copied = {}
    if latest is not None:
        copied = {
            f.name: getattr(latest, f.name)
            for f in ScoringModel._meta.concrete_fields
            if f.name not in ("id", "version", "note", "created_by", "created_at")
        }
    model = ScoringModel(
        **{**copied, **fields},
        version=(latest.version + 1) if latest else 1,
        note=note,
        created_by=acting_user(actor),
    )
    model.full_clean()
    model.save()
    audit_record(
        actor=actor,
        action="scoring_model.created",
        target=model,
        before={k: _plain(v) for k, v in copied.items()} if latest else None,
        after={
            f.name: _plain(getattr(model, f.name))
            for f in ScoringModel._meta.concrete_fields
            if f.name not in ("id", "created_by", "created_at")
        },
        model_version=f"v{model.version}",
    )
    return model


def _current_scoring_model(actor: Any) -> ScoringModel:
    model = ScoringModel.objects.order_by("-version").first()
    if model is None:
        # A fresh install scores against the documented defaults, saved as version 1.
        model = scoring_model_create(actor=actor, note="Default weights and thresholds")
    return model


@transaction.atomic
def score_figures_refresh(*, use_case_ids: Iterable[int]) -> int:
    """Recompute the stored score figures (``UseCaseScoreFigures``) of ``use_case_ids``
    from their current sheets; returns how many use cases have figures now.

    Derived data, rewritten whole for each use case (so running it twice changes
    nothing): :func:`score_submit` calls it in its transaction, and anything that
    writes sheets in bulk (a bench, a test) calls it after.
    """
    ids = list(use_case_ids)
    saved = 0
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        figures = (
            Score.objects.filter(use_case_id__in=chunk, superseded_at__isnull=True)
            .order_by()
            .values("use_case")
            .annotate(
                scorers=models.Count("pk"),
                spread=Greatest(
                    *(models.Max(key) - models.Min(key) for key in scoring.CRITERION_KEYS)
                ),
                **{
                    f"mean_{key}": models.Avg(key, output_field=models.FloatField())
                    for key in scoring.CRITERION_KEYS
                },
            )
        )
        rows = [UseCaseScoreFigures(use_case_id=row.pop("use_case"), **row) for row in figures]
        UseCaseScoreFigures.objects.filter(use_case_id__in=chunk).delete()
        saved += len(UseCaseScoreFigures.objects.bulk_create(rows, batch_size=2000))
    return saved


@transaction.atomic
def score_submit(
    *,
    use_case: UseCase,
    scorer: Any,
    values: dict[str, int],
    rationales: dict[str, str],
) -> Score:
    """Record ``scorer``'s sheet for ``use_case`` against the current scoring model.

    Each criterion needs a 1–5 value and a rationale. A scorer's earlier sheet is
    kept as history (``superseded_at``), never overwritten.
    """
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    if use_case.is_draft:
        raise ValidationError("Submit the use case before scoring it.")
    if use_case.stage in lifecycle.CLOSED_STAGES:
        raise ValidationError(f"A {use_case.get_stage_display().lower()} use case is not scored.")
    model = _current_scoring_model(scorer)
    errors = {}
    for key, (label, _) in scoring.CRITERIA.items():
        value = values.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            errors[key] = f"{label}: give a score from 1 to 5."
        if not (rationales.get(key) or "").strip():
            errors[f"{key}_rationale"] = f"{label}: say why (a rationale is required)."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    previous = (
        Score.objects.select_for_update()
        .filter(use_case=use_case, scorer=scorer, superseded_at__isnull=True)
        .first()
    )
    if previous is not None:
        previous.superseded_at = now
        previous.save(update_fields=["superseded_at"])
    score = Score(
        use_case=use_case,
        scorer=scorer,
        scoring_model=model,
        weighted_score=scoring.round_score(scoring.weighted_score(values, model.weights)),
        submitted_at=now,
        **{key: values[key] for key in scoring.CRITERION_KEYS},
        **{f"{key}_rationale": rationales[key].strip() for key in scoring.CRITERION_KEYS},
    )
    score.full_clean()
    score.save()
    score_figures_refresh(use_case_ids=[use_case.pk])
    audit_record(
        actor=scorer,
        action="usecase.scored",
        target=use_case,
        before=previous.values() if previous else None,
        after={**score.values(), "weighted_score": str(score.weighted_score)},
        model_version=f"scoring v{model.version}",
    )
    return score


@transaction.atomic
def usecase_reveal_scores(*, use_case: UseCase, actor: Any) -> UseCase:
    """The owner lifts the blind: everyone may now see every scorer's sheet."""
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    if use_case.scores_revealed_at is None:
        use_case.scores_revealed_at = timezone.now()
        use_case.save(update_fields=["scores_revealed_at", "updated_at"])
        audit_record(actor=actor, action="usecase.scores_revealed", target=use_case)
    return use_case


@transaction.atomic
def team_set_hourly_cost(*, team: Team, actor: Any, hourly_cost: Decimal) -> Team:
    """Change a team's fully loaded hourly cost (it drives every value estimate)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = team.hourly_cost
    team.hourly_cost = hourly_cost
    team.full_clean()
    team.save(update_fields=["hourly_cost"])
    if before != team.hourly_cost:
        audit_record(
            actor=actor,
            action="team.hourly_cost_changed",
            target=team,
            before={"hourly_cost": str(before)},
            after={"hourly_cost": str(team.hourly_cost)},
        )
    return team


def _unit_snapshot(unit: Team) -> dict[str, Any]:
    return {
        "name": unit.name,
        "parent": unit.parent_id,
        "path_label": unit.path_label,
        "product_owner": unit.product_owner_id,
        "hourly_cost": _plain(unit.hourly_cost),
    }


def _unit_save(unit: Team) -> None:
    """Validate (a name unique among its siblings, no cycle) and save: a clear message, never a 500."""
    siblings = Team.objects.filter(parent=unit.parent_id, name=unit.name).exclude(pk=unit.pk)
    if siblings.exists():
        where = unit.parent.path_label if unit.parent_id else "the top level"
        raise ValidationError({"name": f"{where} already has a unit named {unit.name!r}."})
    unit.full_clean(validate_constraints=False)  # the sibling check above says it better
    unit.save()


@transaction.atomic
def unit_create(
    *,
    actor: Any,
    name: str,
    parent: Team | None = None,
    product_owner: Any = None,
    hourly_cost: Decimal | None = None,
) -> Team:
    """Add an organisation unit under ``parent`` (a root unit without one)."""
    unit = Team(name=(name or "").strip(), parent=parent, product_owner=product_owner)
    if hourly_cost is not None:
        unit.hourly_cost = hourly_cost
    _unit_save(unit)
    audit_record(actor=actor, action="team.created", target=unit, after=_unit_snapshot(unit))
    return unit


@transaction.atomic
def unit_update(*, unit: Team, actor: Any, **changes: Any) -> Team:
    """Rename a unit, move it under another parent (``parent=None``: to the top), or change
    its product owner or hourly cost. The units below follow a rename or move (their paths
    are rewritten by ``Team.save``); a move under itself or one of its own units is refused.
    """
    allowed = {"name", "parent", "product_owner", "hourly_cost"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"Unknown unit fields: {', '.join(sorted(unknown))}.")
    if "parent" in changes:
        # A move locks every unit (in path order): two moves at once cannot build a cycle.
        list(Team.objects.select_for_update().order_by("path").values_list("pk"))
        if changes["parent"] is not None:  # its path as it is now, not as it was read
            changes["parent"] = Team.objects.get(pk=changes["parent"].pk)
    unit = Team.objects.select_for_update().get(pk=unit.pk)
    before = _unit_snapshot(unit)
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
    parent = changes.get("parent")
    if parent is not None and parent.path.startswith(unit.path):
        raise ValidationError(
            {"parent": f"{unit.name} cannot move under itself or a unit inside it."}
        )
    for name, value in changes.items():
        setattr(unit, name, value)
    _unit_save(unit)
    after = _unit_snapshot(unit)
    changed = {key for key in after if before[key] != after[key]}
    if changed:
        audit_record(
            actor=actor,
            action="team.updated",
            target=unit,
            before={key: before[key] for key in sorted(changed)},
            after={key: after[key] for key in sorted(changed)},
        )
    return unit


# --- Custom fields ---------------------------------------------------------------------------

CUSTOM_FIELD_ATTRIBUTES: tuple[str, ...] = ("label", "kind", "choices", "help_text", "order")


def _custom_field_snapshot(field: CustomField) -> dict[str, Any]:
    return {name: getattr(field, name) for name in ("key", *CUSTOM_FIELD_ATTRIBUTES)}


@transaction.atomic
def custom_field_create(*, actor: Any, key: str, **attributes: Any) -> CustomField:
    """Add a field to every use case (``attributes``: label, kind, choices, help_text, order)."""
    field = CustomField(key=key, **attributes)
    field.full_clean()
    field.save()
    audit_record(
        actor=actor,
        action="custom_field.created",
        target=field,
        after=_custom_field_snapshot(field),
    )
    return field


@transaction.atomic
def custom_field_update(*, field: CustomField, actor: Any, **attributes: Any) -> CustomField:
    """Change a field's label, kind, choices, help or order; its key (where values live) stays.

    Values stored under another kind are kept and shown as their text until edited.
    """
    unknown = set(attributes) - set(CUSTOM_FIELD_ATTRIBUTES)
    if unknown:
        raise ValidationError(f"Cannot change: {', '.join(sorted(unknown))}.")
    field = CustomField.objects.select_for_update().get(pk=field.pk)
    before = _custom_field_snapshot(field)
    for name, value in attributes.items():
        setattr(field, name, value)
    field.full_clean()
    field.save()
    after = _custom_field_snapshot(field)
    changed = {name for name in after if before[name] != after[name]}
    if changed:
        audit_record(
            actor=actor,
            action="custom_field.updated",
            target=field,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    return field


@transaction.atomic
def custom_field_delete(*, field: CustomField, actor: Any) -> None:
    """Remove a field; the values use cases hold under its key stay, shown as text."""
    field = CustomField.objects.select_for_update().get(pk=field.pk)
    before = _custom_field_snapshot(field)
    audit_record(actor=actor, action="custom_field.deleted", target=field, before=before)
    field.delete()
