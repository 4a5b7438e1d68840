from django.urls import path

from usecases import views

app_name = "usecases"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("<int:pk>/", views.detail, name="detail"),
]
