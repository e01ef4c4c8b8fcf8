from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

handler404 = "dashboard.api.errors.not_found"
handler500 = "dashboard.api.errors.server_error"

urlpatterns = [
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # Sign-in through OpenID Connect; its views (dashboard.auth.oidc) answer 404 when it is off.
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("", include("dashboard.auth.urls")),
    path("", include("dashboard.api.urls")),
    path("", include("dashboard.urls")),
]
