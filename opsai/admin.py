from django.contrib import admin

from opsai.models import UserProfile


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "reviewer_specialty"]
