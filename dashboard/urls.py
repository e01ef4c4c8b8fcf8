from django.urls import path

from dashboard.views import pages

app_name = "dashboard"

urlpatterns = [
    path("", pages.overview, name="overview"),
]
