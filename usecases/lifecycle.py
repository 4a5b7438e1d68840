"""The use-case lifecycle — the one owner of stages, the moves between them and what a move needs.

idea → scoring → review → approved → pilot → production → retired, or rejected on the
way: only the moves in :data:`TRANSITIONS` are allowed. The apps above ``usecases``
(``kpis``, ``governance``) cannot be imported from here, so they *register* what they
own in their ``AppConfig.ready``:

- **guards** — a condition a move needs (one business KPI before leaving idea, a lane
  that lets it advance, an approved review before approved, the scores the scoring
  model requires before review). A guard returns the unmet :class:`Condition` — in the
  user's words, with the link to the page that resolves it — or ``None``. Every guard
  is asked, so a refused move (:class:`MoveRefused`) names everything missing at once.
- **steps** — work a move, a creation or an intake change brings with it (open a
  review, build a template's KPI stack, recompute the lane). A step never moves the
  stage itself: it may return a :class:`FollowOn`, and the use-case service performs
  that as a move of its own, guarded like any other.

- **obligations** — a gate a use case is past without having passed it (registered as
  found at production with no business KPI; a KPI deleted later). Each names the
  stages it applies to, narrows a queryset to the use cases that still owe it (so a
  page counts them in one aggregate query), and links to where it is resolved. An
  obligation is derived from the data, never stored: resolving it is doing the thing.
- **entry words** — what entering a stage brings, said before the move (on its button:
  "opens the five-point review with …") and after it (the link to the review opened).

The use-case services (``usecase_create``, ``usecase_update``, ``usecase_move_stage``)
run all of this inside their transaction, so registered work commits or rolls back
with the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse

from usecases.choices import Stage

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from usecases.models import UseCase

TRANSITIONS: dict[Stage, tuple[Stage, ...]] = {
    Stage.IDEA: (Stage.SCORING, Stage.REJECTED),
    Stage.SCORING: (Stage.REVIEW, Stage.IDEA, Stage.REJECTED),
    Stage.REVIEW: (Stage.APPROVED, Stage.SCORING, Stage.REJECTED),
    Stage.APPROVED: (Stage.PILOT, Stage.REVIEW, Stage.REJECTED),
    Stage.PILOT: (Stage.PRODUCTION, Stage.REVIEW, Stage.RETIRED, Stage.REJECTED),
    Stage.PRODUCTION: (Stage.RETIRED, Stage.REVIEW),
    Stage.RETIRED: (),
    Stage.REJECTED: (Stage.IDEA,),
}

# How far along the way a stage is; retired and rejected are off the way (never "ahead").
ORDER: dict[Stage, int] = {
    Stage.IDEA: 0,
    Stage.SCORING: 1,
    Stage.REVIEW: 2,
    Stage.APPROVED: 3,
    Stage.PILOT: 4,
    Stage.PRODUCTION: 5,
}

# Stages a use case reaches only through review (or the Allowed lane): AI workers live here.
REVIEWED_STAGES: tuple[Stage, ...] = (Stage.APPROVED, Stage.PILOT, Stage.PRODUCTION)
CLOSED_STAGES: tuple[Stage, ...] = (Stage.RETIRED, Stage.REJECTED)
# A pilot this many days in its stage is due a decision — scale it, change it or stop it
# (the seed's "pilot purgatory"): the executives' strip lists every such pilot, the KPI
# dashboard those whose business KPI has not moved.
PILOT_DECISION_DAYS = 60


@dataclass(frozen=True)
class StageMove:
    """One proposed or performed move of a use case from one stage to another."""

    use_case: UseCase
    from_stage: Stage
    to_stage: Stage
    actor: Any = None

    @property
    def advancing(self) -> bool:
        """Forward along idea → production (a move into retired or rejected is not)."""
        return ORDER.get(self.to_stage, -1) > ORDER.get(self.from_stage, 99)


@dataclass(frozen=True)
class Condition:
    """Something a move needs and does not have, in the user's words, with the page that
    resolves it (``url``, its link saying ``link_label``; both empty when no page does)."""

    text: str
    url: str = ""
    link_label: str = ""

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict[str, str]:
        """A JSON-friendly copy (a session keeps it across a redirect; the API answers it)."""
        return {"text": self.text, "url": self.url, "link_label": self.link_label}


class MoveRefused(ValidationError):
    """A move refused, with every unmet :class:`Condition` (``conditions``).

    A ``ValidationError`` on ``stage`` (its messages are the conditions' texts), so code
    that only needs the words treats it like any other refusal.
    """

    def __init__(self, to_stage: str, conditions: list[Condition]) -> None:
        super().__init__({"stage": [condition.text for condition in conditions]})
        self.to_stage = to_stage
        self.conditions = list(conditions)


@dataclass(frozen=True)
class EntryWords:
    """What entering ``stage`` brings: ``before(use_case)`` said on the move's button
    ("opens the five-point review with …"), ``after(use_case)`` once it is made (the
    link to the review it opened). Either may return ``None`` (nothing to say)."""

    stage: Stage
    before: Callable[[UseCase], str | None]
    after: Callable[[UseCase], Condition | None]


@dataclass(frozen=True)
class FollowOn:
    """A move a step asks the use-case service to make next, with the note to record."""

    to_stage: Stage
    note: str = ""


@dataclass(frozen=True)
class Obligation:
    """A gate use cases in ``stages`` should have passed; ``missing`` finds those that did not.

    ``missing()`` returns the WHERE condition (a ``Q`` on ``UseCase``) a use case that
    owes it meets, stages aside (the registry adds them). Write it with uncorrelated
    ``pk__in`` subqueries, not ``Exists(OuterRef)``: PostgreSQL hashes such a subquery
    once, so the same condition is cheap both in a WHERE clause and in an aggregate's
    FILTER, and every obligation of a selection counts in one query
    (``usecases.selectors.usecase_obligation_counts``). ``resolve_url(use_case)`` is the
    page where it is met, ``resolve_label`` the link's words.
    """

    key: str
    label: str
    stages: tuple[Stage, ...]
    missing: Callable[[], Q]
    resolve_url: Callable[[UseCase], str]
    resolve_label: str


Guard = Callable[[StageMove], Condition | None]
MoveStep = Callable[[StageMove], FollowOn | None]
CreateStep = Callable[["UseCase", Any], None]
ChangeStep = Callable[["UseCase", Any, frozenset[str]], FollowOn | None]
BulkStep = Callable[[list["UseCase"], Any], None]

# Keyed by name so that registering twice (``ready`` in tests) replaces instead of doubling.
_guards: dict[str, Guard] = {}
_move_steps: dict[str, MoveStep] = {}
_create_steps: dict[str, CreateStep] = {}
_change_steps: dict[str, ChangeStep] = {}
_obligations: dict[str, Obligation] = {}
_bulk_steps: dict[str, BulkStep] = {}
_entry_words: dict[str, EntryWords] = {}


def register_guard(name: str, guard: Guard) -> None:
    """Make every move ask ``guard`` first (it returns the unmet :class:`Condition`, or ``None``)."""
    _guards[name] = guard


def register_move_step(name: str, step: MoveStep) -> None:
    """Run ``step`` after every move (in registration order)."""
    _move_steps[name] = step


def register_create_step(name: str, step: CreateStep) -> None:
    """Run ``step`` after a use case is created."""
    _create_steps[name] = step


def register_change_step(name: str, step: ChangeStep) -> None:
    """Run ``step`` after intake fields of a use case change (with the changed field names)."""
    _change_steps[name] = step


def register_obligation(
    key: str,
    label: str,
    stages: Iterable[Stage],
    missing: Callable[[], Q],
    resolve_url: Callable[[UseCase], str],
    resolve_label: str = "Resolve",
) -> None:
    """Show use cases in ``stages`` for which ``missing`` holds as owing ``label``."""
    _obligations[key] = Obligation(key, label, tuple(stages), missing, resolve_url, resolve_label)


def obligations() -> list[Obligation]:
    """Every registered obligation, in registration order."""
    return list(_obligations.values())


def obligation_owed_q(obligation: Obligation) -> Q:
    """The WHERE condition of the use cases that owe ``obligation``: in one of its stages
    and ``missing`` it. Also fit for an aggregate's FILTER (one count per obligation)."""
    return Q(stage__in=obligation.stages) & obligation.missing()


def obligation_owed_by(obligation: Obligation, queryset: QuerySet[UseCase]) -> QuerySet[UseCase]:
    """The use cases of ``queryset`` that owe ``obligation`` (one SQL condition)."""
    return queryset.filter(obligation_owed_q(obligation))


def register_bulk_step(name: str, step: BulkStep) -> None:
    """Run ``step`` once for many newly created use cases, in place of the create step ``name``."""
    _bulk_steps[name] = step


def register_entry_words(
    name: str,
    stage: Stage,
    *,
    before: Callable[[UseCase], str | None],
    after: Callable[[UseCase], Condition | None],
) -> None:
    """Say what entering ``stage`` brings: ``before`` on the move's button, ``after`` once made."""
    _entry_words[name] = EntryWords(stage, before, after)


def entry_words_before(use_case: UseCase, to_stage: str) -> list[str]:
    """What moving ``use_case`` to ``to_stage`` would bring, in words (for its button)."""
    said = (words.before(use_case) for words in _entry_words.values() if words.stage == to_stage)
    return [text for text in said if text]


def entry_words_after(use_case: UseCase) -> list[Condition]:
    """What entering its current stage brought ``use_case``, each with its link."""
    said = (
        words.after(use_case) for words in _entry_words.values() if words.stage == use_case.stage
    )
    return [condition for condition in said if condition is not None]


def allowed_moves(stage: str) -> tuple[Stage, ...]:
    """The stages a use case in ``stage`` may move to."""
    return TRANSITIONS.get(Stage(stage), ()) if stage in Stage.values else ()


def stage_label(stage: str) -> str:
    """The stage's label, or the text itself when it is no stage at all."""
    return Stage(stage).label if stage in Stage.values else stage


def unmet_conditions(
    use_case: UseCase, to_stage: str, *, actor: Any = None, submitting: bool = False
) -> list[Condition]:
    """Why ``use_case`` may not move to ``to_stage`` now — every unmet condition with the
    link that resolves it, or ``[]`` if it may. ``submitting``: asked for a draft about to
    be submitted, so "submit it first" is not among them."""
    from_stage = use_case.stage
    if to_stage not in allowed_moves(from_stage):
        allowed = ", ".join(s.label for s in allowed_moves(from_stage)) or "none"
        return [
            Condition(
                f"Cannot move from {stage_label(from_stage)} to {stage_label(to_stage)}; "
                f"allowed: {allowed}."
            )
        ]
    move = StageMove(use_case, Stage(from_stage), Stage(to_stage), actor)
    unmet = [condition for guard in _guards.values() if (condition := guard(move))]
    if move.advancing and use_case.is_draft and not submitting:
        # A draft is private to the people working on it (usecases.rules), so it must not
        # reach review, where reviewers of other teams are assigned to it.
        unmet.insert(
            0,
            Condition(
                "Submit the use case first: a draft stays an idea until it is submitted.",
                reverse("usecases:edit", args=[use_case.pk]),
                "Open the draft to submit it",
            ),
        )
    return unmet


def refuse_unless_allowed(use_case: UseCase, to_stage: str, *, actor: Any = None) -> None:
    """Raise :class:`MoveRefused` naming every unmet condition, unless the move may be made."""
    unmet = unmet_conditions(use_case, to_stage, actor=actor)
    if unmet:
        raise MoveRefused(to_stage, unmet)


def steps_after_move(move: StageMove) -> list[FollowOn]:
    """Run the registered steps of a performed move; the follow-on moves they ask for."""
    return _follow_ons(step(move) for step in _move_steps.values())


def steps_after_create(use_case: UseCase, actor: Any) -> None:
    """Run the registered steps for a newly created use case."""
    for step in _create_steps.values():
        step(use_case, actor)


def steps_after_bulk_create(use_cases: list[UseCase], actor: Any) -> None:
    """Run every create step for many newly created use cases: in bulk where one is registered."""
    if not use_cases:
        return
    for name, step in _create_steps.items():
        bulk = _bulk_steps.get(name)
        if bulk is not None:
            bulk(use_cases, actor)
        else:
            for use_case in use_cases:
                step(use_case, actor)


def steps_after_change(use_case: UseCase, actor: Any, changed: Iterable[str]) -> list[FollowOn]:
    """Run the registered steps for changed intake fields; the follow-on moves they ask for."""
    fields = frozenset(changed)
    return _follow_ons(step(use_case, actor, fields) for step in _change_steps.values())


def _follow_ons(results: Iterable[FollowOn | None]) -> list[FollowOn]:
    return [result for result in results if result is not None]
