from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Berth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from dashboard.services.audit import audit_sign_in, audit_sign_in_failed

        # Django's auth views announce sign-ins only through these signals.
        user_logged_in.connect(audit_sign_in, dispatch_uid="berth-audit-sign-in")
        user_login_failed.connect(audit_sign_in_failed, dispatch_uid="berth-audit-sign-in-failed")
