"""Top-level URLs: each app mounts its pages and its API under its own prefix."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, reverse_lazy
from drf_spectacular.views import SpectacularAPIView

from opsai import views
from opsai.middleware import role_not_required
from usecases.views import home

handler403 = "opsai.views.permission_denied"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("needs/count/", views.needs_badge, name="needs_badge"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", role_not_required(auth_views.LogoutView.as_view()), name="logout"),
    # Where an invited contact (``usecases.contacts.contact_invite``) sets their password:
    # the link's one-time token is the only key, so the page is open.
    path(
        "accounts/reset/<uidb64>/<token>/",
        login_not_required(
            auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("login"))
        ),
        name="password_reset_confirm",
    ),
    path("admin/", admin.site.urls),
    path("profile/", include("accounts.urls")),
    path("usecases/", include("usecases.urls")),
    path("kpis/", include("kpis.urls")),
    path("governance/", include("governance.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("opsai.api_urls")),
]
