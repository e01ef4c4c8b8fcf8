from django.urls import path

from dashboard.auth import health, login, notifications, token

urlpatterns = [
    path("accounts/login/", login.LimitedLoginView.as_view(), name="login"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("service/notifications", notifications.notifications, name="registry-notifications"),
    path("service/token", token.token, name="registry-token"),
]
