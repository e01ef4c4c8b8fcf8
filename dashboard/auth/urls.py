from django.urls import path

from dashboard.auth import health, notifications, token

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("service/notifications", notifications.notifications, name="registry-notifications"),
    path("service/token", token.token, name="registry-token"),
]
