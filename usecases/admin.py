from django.contrib import admin

from usecases.models import Score, ScoringModel, StageChange, Team, UseCase


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "product_owner", "hourly_cost"]


@admin.register(UseCase)
class UseCaseAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "stage", "owner", "submitted_at"]
    list_filter = ["stage", "team"]
    search_fields = ["title"]


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["use_case", "from_stage", "to_stage", "changed_by", "changed_at"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Scores and scoring-model versions are history: written by the services, never edited."""

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(ScoringModel)
class ScoringModelAdmin(ReadOnlyAdmin):
    list_display = ["version", "note", "created_by", "created_at"]


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdmin):
    list_display = [
        "use_case",
        "scorer",
        "scoring_model",
        "weighted_score",
        "submitted_at",
        "superseded_at",
    ]
    list_filter = ["scoring_model"]
