from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import ApiToken
from accounts.services import api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Every person's tokens; an admin may revoke any (audited), never see or make a key.

    Tokens are made on the profile page, where the key is shown to its owner once.
    """

    list_display = ["name", "user", "created", "expiry", "last_used"]
    list_filter = ["expiry"]
    search_fields = ["name", "user__username"]
    fields = ["uid", "name", "user", "created", "expiry", "last_used"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        api_token_revoke(token=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.select_related("user"):
            api_token_revoke(token=token, actor=request.user)
