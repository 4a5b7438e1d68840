from django.contrib import admin

from opsai.models import UserProfile


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows but never adds, changes or deletes them: every change goes through a
    service, which audits it (the audit trail itself is append-only)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "reviewer_specialty"]
