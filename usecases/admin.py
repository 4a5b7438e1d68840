from django.contrib import admin

from usecases.models import StageChange, Team, UseCase


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "product_owner", "hourly_cost"]


@admin.register(UseCase)
class UseCaseAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "stage", "owner"]
    list_filter = ["stage", "team"]
    search_fields = ["title"]


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["use_case", "from_stage", "to_stage", "changed_by", "changed_at"]
