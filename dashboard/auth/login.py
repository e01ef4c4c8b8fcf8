"""Sign-in with rate limits and lockout (see `dashboard.auth.ratelimit`), on Django's views."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from dashboard.auth.addresses import client_address
from dashboard.auth.ratelimit import (
    lockout_message,
    rate_limited,
    sign_in_failed,
    sign_in_locked,
    sign_in_succeeded,
)
from dashboard.services.audit import FAILURE, audit_record

TOO_MANY = "Too many sign-in attempts from your address. Wait a minute and try again."


class LimitedAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing locked usernames and counting failures."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        if sign_in_locked(username):
            audit_record(
                action="login",
                resource_type="user",
                resource_name=username,
                actor_name=username,
                result=FAILURE,
                detail={"reason": "locked"},
            )
            raise ValidationError(lockout_message(), code="locked")
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            if sign_in_failed(username):
                raise ValidationError(lockout_message(), code="locked")
            raise self.get_invalid_login_error()
        sign_in_succeeded(username)
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class LimitedLoginView(LoginView):
    """The sign-in page; POSTs over `RATE_LIMIT_SIGN_IN` per minute from one address get 429."""

    authentication_form = LimitedAuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # The "Sign in with ..." button (dashboard/auth/oidc.py), when OIDC is configured.
        context["oidc_provider"] = settings.OIDC_PROVIDER_NAME if settings.OIDC_ENABLED else ""
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        address = client_address(request) or "unknown"
        if rate_limited(scope="sign-in", key=address, limit=settings.RATE_LIMIT_SIGN_IN):
            form = self.get_form()
            form.is_bound = False  # not validated: no password is checked
            response = self.render_to_response(self.get_context_data(form=form, refusal=TOO_MANY))
            response.status_code = 429
            response["Retry-After"] = "60"
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        if form.has_error("__all__", "locked"):
            return self.render_to_response(
                self.get_context_data(form=form, refusal=lockout_message())
            )
        return super().form_invalid(form)
