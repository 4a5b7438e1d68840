"""Organisation units and use cases are edited here with every change audited; history is read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin import AuditedAdmin
from opsai.admin import ReadOnlyAdmin
from usecases.models import CustomField, Score, ScoringModel, StageChange, Team, UseCase


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    """Organisation units, listed in tree order by path; ``Team.save`` keeps the paths."""

    list_display = ["path_label", "name", "parent", "product_owner", "hourly_cost"]
    list_select_related = ["parent", "product_owner"]
    search_fields = ["name", "path_label"]
    readonly_fields = ["path_label"]
    autocomplete_fields = ["parent"]
    ordering = ["path_label"]


@admin.register(UseCase)
class UseCaseAdmin(AuditedAdmin):
    list_display = ["title", "team", "stage", "owner", "submitted_at"]
    list_filter = ["stage", "team"]
    search_fields = ["title"]


@admin.register(CustomField)
class CustomFieldAdmin(AuditedAdmin):
    """The organisation's own use-case fields (also edited at /usecases/fields/)."""

    list_display = ["label", "key", "kind", "order"]

    def get_readonly_fields(self, request: HttpRequest, obj: CustomField | None = None) -> Any:
        # The stored values live under the key: renaming it would orphan every one.
        return ["key"] if obj is not None else []


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdmin):
    """Read-only: the lifecycle's history (when each stage was entered, by whom) is written
    by ``usecase_move_stage`` alone; editing or deleting a row would rewrite that history."""

    list_display = ["use_case", "from_stage", "to_stage", "changed_by", "changed_at"]


@admin.register(ScoringModel)
class ScoringModelAdmin(ReadOnlyAdmin):
    """Scoring-model versions are history: a change is a new version, made on its page."""

    list_display = ["version", "note", "created_by", "created_at"]


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdmin):
    """Score sheets are history: written by the scoring service, never edited."""

    list_display = [
        "use_case",
        "scorer",
        "scoring_model",
        "weighted_score",
        "submitted_at",
        "superseded_at",
    ]
    list_filter = ["scoring_model"]
