"""Reads for use cases: the ranked portfolio, one use case's scores, history and stages.

The portfolio is one annotated query: consensus per criterion, spread, weighted
consensus, value estimate and the derived flags are computed in PostgreSQL, so the
page and the API list cost the same few queries for five use cases or five
thousand, and can filter and sort on any of them. The flag rules are defined in
``usecases.scoring`` and mirrored here as SQL (a test keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Length, Round
from django.db.models.lookups import StartsWith
from django.utils import timezone

from opsai.charts import figure_json
from opsai.permissions import has_any_role, is_admin, is_product_owner
from usecases import charts, lifecycle, scoring
from usecases.choices import Stage, ValueBucket
from usecases.models import Score, ScoringModel, StageChange, Team, UseCase

# The annual value *estimate* (volume × minutes × expected automation share, and × the
# team's hourly cost), as database expressions so tables can sort and sum on it. The
# same formula for one use case is ``usecase_value_estimate``; the KPI dashboards set it
# against the value realised from business KPIs.
_MONEY = DecimalField(max_digits=20, decimal_places=2)
ESTIMATED_HOURS_PER_YEAR = ExpressionWrapper(
    # numeric from the first factor on: integer × integer would overflow in PostgreSQL.
    Cast(F("cases_per_week"), output_field=_MONEY)
    * Value(Decimal(scoring.WEEKS_PER_YEAR))
    * F("minutes_per_case")
    / Value(Decimal(60))
    * F("expected_automation_share"),
    output_field=_MONEY,
)
ESTIMATED_COST_PER_YEAR = ExpressionWrapper(
    ESTIMATED_HOURS_PER_YEAR * F("team__hourly_cost"), output_field=_MONEY
)


def usecase_visibility(viewer: Any, *, through: str = "") -> Q:
    """The use cases ``viewer`` may see, as a WHERE condition (no extra query).

    A draft (not submitted yet) is private to the people working on it: its owner, its
    submitter, its unit's product owner (the nearest one named up the tree; any product
    owner while none is, see :func:`units_product_owned_by`) and admins. Submitted use cases are
    seen by everyone with a role. The per-object twin is ``usecases.view_usecase`` in
    ``usecases/rules.py``; a test keeps the two in step.

    ``viewer=None`` is a background job or an organisation-wide aggregate: submitted use
    cases only. ``through`` is the lookup path from another model, e.g. ``"use_case__"``
    for KPIs, so a draft's KPIs are hidden by the same rule.
    """
    submitted = Q(**{f"{through}submitted_at__isnull": False})
    if viewer is None:
        return submitted
    if not has_any_role(viewer):
        return Q(pk__in=[])
    if is_admin(viewer):
        return Q()
    works_on = Q(**{f"{through}owner": viewer.pk}) | Q(**{f"{through}submitted_by": viewer.pk})
    if is_product_owner(viewer):
        works_on |= Q(**{f"{through}team__in": units_product_owned_by(viewer).values("pk")})
    return submitted | works_on


def units_product_owned_by(viewer: Any) -> QuerySet[Team]:
    """The units ``viewer`` is product owner of, as a lazy queryset (a subquery, no query).

    The rule, twin of ``opsai.permissions.is_team_product_owner``: a unit's product owner
    is the *nearest* one named on the way up the tree (the unit's own, else its parent's,
    …); a unit with none named anywhere above it is open to every product owner, as a
    team without one always was. ``nearest_owner`` is that owner, found by a correlated
    subquery over the unit's ancestors (their paths are prefixes of its path; the longest
    is the nearest).
    """
    nearest = (
        Team.objects.filter(StartsWith(OuterRef("path"), F("path")), product_owner__isnull=False)
        .order_by(Length("path").desc())
        .values("product_owner")[:1]
    )
    return Team.objects.annotate(nearest_owner=Subquery(nearest)).filter(
        Q(nearest_owner=viewer.pk) | Q(nearest_owner__isnull=True)
    )


def usecase_visible_to(queryset: QuerySet[UseCase], viewer: Any) -> QuerySet[UseCase]:
    """``queryset`` narrowed to the use cases ``viewer`` may see (see :func:`usecase_visibility`).

    Page and API getters look objects up in this queryset, so a draft someone may not
    see answers 404, not 403: its existence is not revealed.
    """
    return queryset.filter(usecase_visibility(viewer))


def usecase_value_estimate(use_case: UseCase) -> scoring.ValueEstimate:
    """Annual hours and cost the use case is estimated to save (an estimate, not realised)."""
    return scoring.value_estimate(
        cases_per_week=use_case.cases_per_week,
        minutes_per_case=use_case.minutes_per_case,
        expected_automation_share=use_case.expected_automation_share,
        hourly_cost=use_case.team.hourly_cost,
    )


def usecase_stage_counts(viewer: Any = None, *, own: bool = False) -> list[dict[str, object]]:
    """How many use cases ``viewer`` may see sit in each stage, in lifecycle order (one query).

    ``own``: only the use cases ``viewer`` works on (owns or submitted, or of the units
    they are product owner of); an admin's are all of them.
    """
    use_cases = usecase_visible_to(UseCase.objects.all(), viewer)
    if own and viewer is not None and not is_admin(viewer):
        mine = Q(owner=viewer.pk) | Q(submitted_by=viewer.pk)
        if is_product_owner(viewer):
            mine |= Q(team__in=units_product_owned_by(viewer).values("pk"))
        use_cases = use_cases.filter(mine)
    counts = dict(use_cases.values_list("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    return [
        {"stage": stage.label, "value": stage.value, "count": counts.get(stage.value, 0)}
        for stage in Stage
    ]


# --- Open obligations (usecases.lifecycle) ------------------------------------------------------


@dataclass(frozen=True)
class ObligationCount:
    """How many use cases of a selection owe one obligation, and in which stages."""

    key: str
    label: str
    count: int
    by_stage: list[tuple[str, int]]  # (stage label, count), lifecycle order, non-zero only

    @property
    def text(self) -> str:
        """ "312 production use cases have no business KPI" (stages named when several)."""
        noun = "use case has" if self.count == 1 else "use cases have"
        if len(self.by_stage) == 1:
            return f"{self.count:,} {self.by_stage[0][0].lower()} {noun} {self.label}"
        stages = ", ".join(f"{n:,} in {label.lower()}" for label, n in self.by_stage)
        return f"{self.count:,} {noun} {self.label}" + (f": {stages}" if stages else "")


def _owed_counts() -> dict[str, Count]:
    """One FILTERed count per registered obligation (``owed_<n>``), for a GROUP BY stage."""
    return {
        f"owed_{n}": Count("pk", filter=lifecycle.obligation_owed_q(obligation))
        for n, obligation in enumerate(lifecycle.obligations())
    }


def _obligation_counts(per_stage: dict[str, dict[str, int]]) -> list[ObligationCount]:
    """:class:`ObligationCount` per obligation from ``{stage: {"owed_<n>": count}}``."""
    result = []
    for n, obligation in enumerate(lifecycle.obligations()):
        by_stage = [
            (s.label, per_stage[s.value][f"owed_{n}"])
            for s in Stage
            if per_stage.get(s.value, {}).get(f"owed_{n}")
        ]
        count = sum(k for _, k in by_stage)
        result.append(ObligationCount(obligation.key, obligation.label, count, by_stage))
    return result


def usecase_obligation_counts(queryset: QuerySet[UseCase]) -> list[ObligationCount]:
    """For each registered obligation, how many use cases of ``queryset`` owe it, by stage.

    One query whatever the number of use cases and obligations: ``queryset`` (the
    visible, filtered selection, annotated or not) grouped by stage, one count per
    obligation with its condition as the count's FILTER (``lifecycle.obligation_owed_q``).
    """
    rows = queryset.order_by().values("stage").annotate(**_owed_counts())
    return _obligation_counts({row.pop("stage"): row for row in rows})


@dataclass(frozen=True)
class OpenObligation:
    """An obligation one use case owes, with the link that resolves it."""

    key: str
    label: str
    url: str
    resolve_label: str


def usecase_open_obligations(use_case: UseCase) -> list[OpenObligation]:
    """The obligations ``use_case`` owes now (one query per obligation its stage has)."""
    found = []
    for obligation in lifecycle.obligations():
        if use_case.stage not in obligation.stages:
            continue
        if lifecycle.obligation_owed_by(
            obligation, UseCase.objects.filter(pk=use_case.pk)
        ).exists():
            found.append(
                OpenObligation(
                    obligation.key,
                    obligation.label,
                    obligation.resolve_url(use_case),
                    obligation.resolve_label,
                )
            )
    return found


def scoring_model_current() -> ScoringModel:
    """The newest scoring-model version, or the unsaved defaults (version 0) on a fresh install."""
    return ScoringModel.objects.order_by("-version").first() or ScoringModel(version=0)


def scoring_model_list() -> QuerySet[ScoringModel]:
    """Every scoring-model version, newest first, with how many sheets each produced."""
    return ScoringModel.objects.select_related("created_by").annotate(sheets=Count("scores"))


def _current_sheets(as_of: datetime | None) -> Q:
    """The sheets that count (on ``Score``): the current ones, or those current at ``as_of``."""
    if as_of is None:
        return Q(superseded_at__isnull=True)
    return Q(submitted_at__lte=as_of) & (Q(superseded_at__isnull=True) | Q(superseded_at__gt=as_of))


def usecase_portfolio(
    *,
    scoring_model: ScoringModel | None = None,
    as_of: datetime | None = None,
    viewer: Any = None,
) -> QuerySet[UseCase]:
    """Every use case annotated for ranking under ``scoring_model`` (default: the current one).

    Annotations: ``scorers``, ``mean_<criterion>``, ``spread``, ``consensus`` (the
    weighted score of the means, 1–5), ``est_hours`` and ``est_cost`` (the annual
    value *estimate*), and the flags ``radar_hit``, ``quick_win``,
    ``political_thriller``, ``needs_calibration``. With ``as_of`` only the sheets
    current at that moment count, so a past ranking can be recomputed exactly.
    With ``viewer``, ``viewer_scored`` says whether they have a current sheet, and
    ``score_hidden`` whether blind scoring hides the row's consensus from them (see
    ``scores_visible_to``). ``ranked_score`` is the consensus the viewer may rank by:
    null while hidden, so a blind scorer cannot read ranks off the order — hidden
    rows sort with the unscored ones, by title.
    Only the use cases ``viewer`` may see (:func:`usecase_visibility`; without a viewer,
    submitted ones only). One query, ordered best (visible) consensus first.

    The score figures come from one join to ``UseCaseScoreFigures`` (a view grouping
    the current sheets by use case), not from a GROUP BY over the joined rows: at
    10,000 use cases grouping the wide use-case + unit + owner row cost most of a
    second. No column is an aggregate, so a caller may filter on any of them in WHERE
    or GROUP BY them (the chart's density grid does). A past ranking (``as_of``) reads
    the sheets current then through correlated subqueries instead: slower, and rare.
    """
    model = scoring_model or scoring_model_current()
    viewer_scored, hidden = _viewer_annotations(viewer)
    if as_of is None:
        means, spread, scorers = _current_figures()
    else:
        sheets = Score.objects.filter(_current_sheets(as_of), use_case=OuterRef("pk")).order_by()
        means, spread, scorers = _figures_as_of(sheets)
    return (
        usecase_visible_to(UseCase.objects.select_related("team", "owner"), viewer)
        .annotate(**viewer_scored, scorers=scorers, **means, spread=spread)
        .annotate(
            consensus=_consensus(model),
            est_hours=ESTIMATED_HOURS_PER_YEAR,
            est_cost=ESTIMATED_COST_PER_YEAR,
            **_flag_annotations(model.thresholds),
            score_hidden=hidden,
        )
        .annotate(
            ranked_score=Case(
                When(score_hidden=True, then=Value(None)),
                default=F("consensus"),
                output_field=FloatField(),
            )
        )
        .order_by(F("ranked_score").desc(nulls_last=True), "title", "pk")
    )


def _current_figures() -> tuple[dict[str, Any], Any, Any]:
    """Means, spread and sheet count from the score-figures view (one LEFT JOIN)."""
    means = {f"mean_{key}": F(f"score_figures__mean_{key}") for key in scoring.CRITERION_KEYS}
    spread = Coalesce(F("score_figures__spread"), 0)
    return means, spread, Coalesce(F("score_figures__scorers"), 0)


def _sheet_figure(sheets: QuerySet[Score], expression: Any, output: Any) -> Subquery:
    """One figure over a use case's counted sheets, as a scalar subquery (one group)."""
    return Subquery(
        sheets.values("use_case").annotate(figure=expression).values("figure"),
        output_field=output,
    )


def _figures_as_of(sheets: QuerySet[Score]) -> tuple[dict[str, Any], Any, Any]:
    """Means, spread and sheet count over ``sheets`` (those current at a past moment)."""
    means = {
        f"mean_{key}": _sheet_figure(sheets, Avg(key, output_field=FloatField()), FloatField())
        for key in scoring.CRITERION_KEYS
    }
    spread = Coalesce(
        _sheet_figure(
            sheets,
            Greatest(*(Max(key) - Min(key) for key in scoring.CRITERION_KEYS)),
            IntegerField(),
        ),
        0,
    )
    return means, spread, Coalesce(_sheet_figure(sheets, Count("pk"), IntegerField()), 0)


def _consensus(model: ScoringModel) -> Any:
    """The weighted score of the means (1–5) under ``model``; null while unscored."""
    weights = {key: float(w) for key, w in model.weights.items()}
    total_weight = sum(weights.values()) or 1.0
    weighted = sum(
        (Value(weights[key]) * F(f"mean_{key}") for key in scoring.CRITERION_KEYS),
        start=Value(0.0),
    )
    return ExpressionWrapper(weighted / Value(total_weight), output_field=FloatField())


def _viewer_annotations(viewer: Any) -> tuple[dict[str, Any], Any]:
    """``viewer_scored`` for a signed-in viewer, and whether blind scoring hides a row from them."""
    viewer_scored: dict[str, Any] = {}
    hidden: Any = Value(False)  # nobody is blind unless they may score
    if viewer is not None and viewer.is_authenticated:
        viewer_scored["viewer_scored"] = Exists(
            Score.objects.filter(
                use_case=OuterRef("pk"), scorer=viewer.pk, superseded_at__isnull=True
            )
        )
        if viewer.has_perm("usecases.score_usecase"):
            hidden = _flag(Q(scores_revealed_at__isnull=True, scorers__gt=0, viewer_scored=False))
    return viewer_scored, hidden


def _flag_annotations(t: scoring.Thresholds) -> dict[str, Case]:
    """The derived flags, each a boolean annotation computed in the query."""
    return {
        "radar_hit": _flag(
            Q(rules_clarity__gte=t.radar_min_rules_clarity)
            & Q(frequency__in=scoring.frequencies_at_least(t.radar_min_frequency))
            & Q(cases_per_week__gte=t.radar_min_cases_per_week)
            & Q(rework_share__gte=t.radar_min_rework_share)
        ),
        "quick_win": _flag(
            Q(mean_value__gte=float(t.quick_win_min_value))
            & Q(mean_feasibility__gte=float(t.quick_win_min_feasibility))
            & Q(kpis_touched=1)
            & Q(teams_touched=1)
        ),
        "political_thriller": _flag(Q(approvals_needed__gte=t.political_thriller_min_approvals)),
        "needs_calibration": _flag(Q(scorers__gte=2) & Q(spread__gte=t.calibration_spread)),
    }


# Flags that come from the scores: hidden with the score while scoring is blind.
SCORE_FLAGS = frozenset({"quick_win", "needs_calibration"})


def _flag(condition: Q) -> Case:
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def usecase_radar(use_case: UseCase, model: ScoringModel) -> scoring.Flag:
    """The rework radar of ``use_case`` (its intake) under ``model``'s thresholds, with why."""
    return scoring.radar_flag(
        rules_clarity=use_case.rules_clarity,
        frequency=use_case.frequency,
        cases_per_week=use_case.cases_per_week,
        rework_share=use_case.rework_share,
        thresholds=model.thresholds,
    )


def usecase_flags(row: UseCase, model: ScoringModel) -> list[scoring.Flag]:
    """The derived flags of a row of :func:`usecase_portfolio`, each with its reason."""
    t = model.thresholds
    return [
        usecase_radar(row, model),
        scoring.quick_win_flag(
            value=row.mean_value,
            feasibility=row.mean_feasibility,
            kpis_touched=row.kpis_touched,
            teams_touched=row.teams_touched,
            thresholds=t,
        ),
        scoring.political_thriller_flag(approvals_needed=row.approvals_needed, thresholds=t),
        scoring.calibration_flag(spread=row.spread, scorers=row.scorers, thresholds=t),
    ]


# The chart labels at most this many use cases as bubbles (the first by the current
# sort); every other scored use case is counted in the density grid beneath them.
CHART_BUBBLES = 25


@dataclass(frozen=True)
class PortfolioChart:
    """The portfolio's chart (JSON for plotly.js) and what it shows."""

    figure: dict[str, Any]
    labelled: int  # use cases drawn as labelled bubbles
    plotted: int  # scored use cases of the selection the viewer may see (all in the grid)


def _plottable() -> Q:
    """Plottable: scored, and not hidden from the viewer by blind scoring."""
    return Q(score_hidden=False, mean_value__isnull=False)


def _grid(field: str) -> Any:
    """A consensus mean rounded to the centre of its density-grid cell (PostgreSQL's round)."""
    per_point = Value(float(charts.CELLS_PER_POINT))
    return Round(F(field) * per_point) / per_point


def portfolio_chart(
    filtered: QuerySet[UseCase],
    *,
    top: int | None = None,
    cells: list[charts.DensityCell] | None = None,
) -> PortfolioChart:
    """Value vs feasibility for the use cases ``filtered`` selects, bounded at any size.

    Two queries, whatever the number of use cases: the density grid (a GROUP BY on the
    consensus means rounded to the grid, in PostgreSQL) and the top ``top`` rows of the
    current order (default :data:`CHART_BUBBLES`) as labelled bubbles. Plottable: scored,
    and not hidden from the viewer by blind scoring (``ranked_score`` is null for both).
    The portfolio page passes the grid's ``cells`` from :func:`portfolio_totals`, which
    counts them in its own GROUP BY: then one query.
    """
    plottable = filtered.filter(_plottable())
    fields = ("pk", "title", "stage", "mean_value", "mean_feasibility", "est_cost")
    bubbles = [
        charts.ChartPoint(*row)
        for row in plottable.values_list(*fields)[: CHART_BUBBLES if top is None else top]
    ]
    if cells is None:
        cells = [
            charts.DensityCell(feasibility=float(x), value=float(y), count=n)
            for x, y, n in plottable.order_by()
            .values(x=_grid("mean_feasibility"), y=_grid("mean_value"))
            .annotate(n=Count("pk"))
            .order_by("x", "y")
            .values_list("x", "y", "n")
        ]
    return PortfolioChart(
        figure=figure_json(charts.portfolio_figure(bubbles, cells)),
        labelled=len(bubbles),
        plotted=sum(cell.count for cell in cells),
    )


@dataclass(frozen=True)
class PortfolioTotals:
    """What the portfolio page sums over its whole selection (:func:`portfolio_totals`)."""

    value_by_bucket: list[dict[str, Any]]  # bucket, use_cases, hours, cost; largest cost first
    obligations: list[ObligationCount]  # every registered obligation, owed or not
    cells: list[charts.DensityCell]  # the chart's density grid


def portfolio_totals(filtered: QuerySet[UseCase]) -> PortfolioTotals:
    """The value-by-bucket totals, the open obligations and the chart's density grid of
    ``filtered``, in one query.

    One GROUP BY (value bucket, stage, grid cell) in PostgreSQL over the rows the filters
    select (the score figures are joined columns, not aggregates, so they may sit in its
    WHERE clause), with the summed value estimates and one FILTERed count per obligation;
    the groups (a few hundred at most: 5 buckets × 10 stages × 81 cells) are folded here.
    So the page never loads every row, and scans the selection once for all three. The
    bucket counts also give the selection's size, which the paginator uses instead of a
    COUNT of its own. A use case the chart cannot plot (unscored, or blind to the viewer)
    has no cell (null).
    """
    buckets = dict(ValueBucket.choices)
    plottable = _plottable()
    rows = (
        filtered.order_by()
        .values(
            "value_bucket",
            "stage",
            x=Case(When(plottable, then=_grid("mean_feasibility"))),
            y=Case(When(plottable, then=_grid("mean_value"))),
        )
        .annotate(
            use_cases=Count("pk"),
            hours=Coalesce(Sum(ESTIMATED_HOURS_PER_YEAR), Value(Decimal(0)), output_field=_MONEY),
            cost=Coalesce(Sum(ESTIMATED_COST_PER_YEAR), Value(Decimal(0)), output_field=_MONEY),
            **_owed_counts(),
        )
    )
    totals: dict[str | None, dict[str, Any]] = {}
    per_stage: dict[str, dict[str, int]] = {}
    per_cell: dict[tuple[float, float], int] = {}
    for row in rows:
        bucket = row.pop("value_bucket")
        entry = totals.setdefault(bucket, {"use_cases": 0, "hours": Decimal(0), "cost": Decimal(0)})
        for key in ("use_cases", "hours", "cost"):
            entry[key] += row[key]
        x, y = row.pop("x"), row.pop("y")
        if x is not None and y is not None:
            cell = (float(x), float(y))
            per_cell[cell] = per_cell.get(cell, 0) + row["use_cases"]
        owed = per_stage.setdefault(row.pop("stage"), {})
        for key in _owed_keys(row):
            owed[key] = owed.get(key, 0) + row[key]
    # As PostgreSQL ordered them before: largest cost first, then the bucket (none last).
    ordered = sorted(
        totals.items(), key=lambda item: (-item[1]["cost"], item[0] is None, item[0] or "")
    )
    return PortfolioTotals(
        value_by_bucket=[
            {"bucket": buckets.get(bucket or "", "") or "No bucket yet", **entry}
            for bucket, entry in ordered
        ],
        obligations=_obligation_counts(per_stage),
        cells=[
            charts.DensityCell(feasibility=x, value=y, count=n)
            for (x, y), n in sorted(per_cell.items())
        ],
    )


def _owed_keys(row: dict[str, Any]) -> list[str]:
    return [key for key in row if key.startswith("owed_")]


# --- One use case ----------------------------------------------------------------------------


def scores_visible_to(*, use_case: UseCase, user: Any, sheets: list[Score]) -> bool:
    """Blind scoring: a scorer sees the others' sheets once they submitted theirs, or once
    the owner revealed them. People who do not score (executives, product owners,
    reviewers) cannot be anchored by them, so they always see them."""
    if use_case.scores_revealed_at is not None or not user.has_perm("usecases.score_usecase"):
        return True
    return any(sheet.scorer_id == user.pk and sheet.superseded_at is None for sheet in sheets)


def usecase_sheets(use_case: UseCase) -> list[Score]:
    """Every sheet ever submitted for ``use_case`` (current and superseded), oldest first."""
    return list(Score.objects.filter(use_case=use_case).select_related("scorer", "scoring_model"))


def usecase_consensus(*, sheets: list[Score], model: ScoringModel) -> scoring.Consensus:
    """Consensus, spread and agreement of the current sheets under ``model``."""
    current = [s.values() for s in sheets if s.superseded_at is None]
    return scoring.consensus(
        current,
        {k: float(v) for k, v in model.weights.items()},
        calibration_spread=model.calibration_spread,
    )


def score_history_chart(sheets: list[Score]) -> dict[str, Any]:
    """How the use case's score moved, as JSON: each scorer's sheets and the running consensus."""
    return figure_json(charts.score_history_figure(sheets))


@dataclass(frozen=True)
class StageSpell:
    """One stay in a stage: entered when, by whom, left when, for how long."""

    stage: str
    label: str
    entered_at: datetime
    left_at: datetime | None
    duration: timedelta
    changed_by: str
    note: str


def usecase_stage_history(use_case: UseCase) -> list[StageSpell]:
    """Each stage the use case has been in, with time spent there (derived from StageChange)."""
    changes = list(StageChange.objects.filter(use_case=use_case).select_related("changed_by"))
    now = timezone.now()
    spells = []
    if not changes or changes[0].from_stage:
        # Created outside the intake service: its first stage began at creation.
        first_stage = changes[0].from_stage if changes else use_case.stage
        spells.append(
            StageSpell(
                first_stage,
                Stage(first_stage).label,
                use_case.created_at,
                None,
                timedelta(0),
                "",
                "",
            )
        )
    for change in changes:
        spells.append(
            StageSpell(
                change.to_stage,
                Stage(change.to_stage).label,
                change.changed_at,
                None,
                timedelta(0),
                change.changed_by.get_username() if change.changed_by else "system",
                change.note,
            )
        )
    result = []
    for index, spell in enumerate(spells):
        left = spells[index + 1].entered_at if index + 1 < len(spells) else None
        result.append(
            StageSpell(
                spell.stage,
                spell.label,
                spell.entered_at,
                left,
                (left or now) - spell.entered_at,
                spell.changed_by,
                spell.note,
            )
        )
    return result


def usecase_time_in_stage(use_case: UseCase) -> dict[str, timedelta]:
    """Total time spent in each stage so far (a stage visited twice adds up)."""
    totals: dict[str, timedelta] = {}
    for spell in usecase_stage_history(use_case):
        totals[spell.stage] = totals.get(spell.stage, timedelta(0)) + spell.duration
    return totals


def portfolio_sensitivity(
    *, rows: list[UseCase], model: ScoringModel, top: int = 5
) -> dict[str, Any]:
    """For the top ``top`` scored use cases: does the order change if a weight moves ±20%?"""
    scored = {
        row.pk: {key: getattr(row, f"mean_{key}") for key in scoring.CRITERION_KEYS}
        for row in rows
        if row.scorers
    }
    titles = {row.pk: row.title for row in rows}
    weights = {k: float(v) for k, v in model.weights.items()}
    if not scored:
        return {"baseline": [], "cases": [], "stable": True}
    baseline, cases = scoring.sensitivity(scored, weights, top=top)
    return {
        "baseline": [(pk, titles[pk]) for pk in baseline],
        "cases": [
            {
                "criterion": scoring.CRITERIA[case.criterion][0],
                "change": f"{(case.factor - 1) * 100:+.0f}%",
                "weight": round(weights[case.criterion] * case.factor, 2),
                "changed": case.changed,
                "order": [titles[pk] for pk in case.order],
            }
            for case in cases
        ],
        "stable": not any(case.changed for case in cases),
    }
