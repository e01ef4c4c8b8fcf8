"""The user's own credentials: login commands, access keys, API tokens.

A secret is shown once, in the answer to the POST that made it (never cached); afterwards only
its id, dates and last use are shown. Every object is looked up among the user's own, so another
user's id is a 404.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.forms import AccessKeyForm, ApiTokenForm, LoginSecretForm
from dashboard.models import AccessKey, ApiToken, LoginSecret
from dashboard.services.credentials import (
    access_key_create,
    access_key_delete,
    access_key_set_active,
    api_token_create,
    api_token_revoke,
    api_tokens_active,
    login_secret_create,
    login_secret_revoke,
    login_secrets_active,
    long_term_password,
    registry_username,
)
from dashboard.views.common import Command, HtmxHttpRequest, navigate, registry_is_plain_http


def login_commands_for(username: str, password: str) -> list[Command]:
    """`docker login`, `podman login` and containerd's `ctr --user` with these credentials."""
    host = settings.REGISTRY_HOST
    insecure = registry_is_plain_http()
    return [
        Command("docker", f"docker login -u {username} -p {password} {host}"),
        Command(
            "podman",
            f"podman login{' --tls-verify=false' if insecure else ''} -u {username} "
            f"-p {password} {host}",
        ),
        Command(
            "containerd (ctr)",
            f"ctr image pull{' --plain-http' if insecure else ''} --user {username}:{password} "
            f"{host}/<organization>/<image>:<tag>",
        ),
    ]


def _credentials_csv(username: str, access_key: str, secret_key: str) -> str:
    """A `credentials.csv` as Huawei Cloud's console downloads it, as a `data:` URL."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["User Name", "Access Key Id", "Secret Access Key"])
    writer.writerow([username, access_key, secret_key])
    return "data:text/csv;charset=utf-8," + quote(out.getvalue())


def _me(request: HtmxHttpRequest) -> User:
    """The signed-in user (every view here requires one)."""
    user = request.user
    assert isinstance(user, User)
    return user


def _render(
    request: HtmxHttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"tab": template.removeprefix("dashboard/account_").removesuffix(".html"), **context}
    return render(request, template, context, status=status)


@login_required
def account(request: HtmxHttpRequest) -> HttpResponse:
    return redirect("dashboard:account-login-commands")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def login_commands(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the form and the active temporary commands. POST: make one and show it once."""
    form = LoginSecretForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            duration = dt.timedelta(seconds=form.cleaned_data["validity"])
            secret, username, password = login_secret_create(user=_me(request), duration=duration)
            created = {
                "secret": secret,
                "commands": login_commands_for(username, password),
            }
            messages.success(request, "Login command generated. Copy it now: it is shown once.")
            form = LoginSecretForm()
        else:
            status = 422
    context = {
        "form": form,
        "created": created,
        "secrets": login_secrets_active(user=_me(request)),
        "region": settings.REGION,
    }
    return _render(request, "dashboard/account_login_commands.html", context, status)


@login_required
@require_POST
def login_secret_revoke_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    secret = get_object_or_404(LoginSecret, pk=pk, user=_me(request))
    login_secret_revoke(secret=secret)
    messages.success(request, f"Login command {registry_username(secret.key_id)} revoked.")
    return navigate(request, reverse("dashboard:account-login-commands"))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def access_keys(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the user's access keys. POST: make one; its SK is shown (and downloadable) once."""
    form = AccessKeyForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            key, secret_key = access_key_create(
                user=_me(request), description=form.cleaned_data["description"]
            )
            username = registry_username(key.access_key)
            created = {
                "key": key,
                "secret_key": secret_key,
                "csv_url": _credentials_csv(
                    request.user.get_username(), key.access_key, secret_key
                ),
                "commands": login_commands_for(
                    username, long_term_password(key.access_key, secret_key)
                ),
            }
            messages.success(request, "Access key created. Save the secret key now.")
            form = AccessKeyForm()
        else:
            status = 422
    context = {
        "form": form,
        "created": created,
        "keys": AccessKey.objects.filter(user=_me(request)),
    }
    return _render(request, "dashboard/account_access_keys.html", context, status)


@login_required
@require_POST
def access_key_active_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Enable (`active=true`) or disable the key."""
    key = get_object_or_404(AccessKey, pk=pk, user=_me(request))
    active = request.POST.get("active") == "true"
    access_key_set_active(key=key, active=active)
    state = "enabled" if active else "disabled"
    messages.success(request, f"Access key {key.access_key} {state}.")
    return navigate(request, reverse("dashboard:account-access-keys"))


@login_required
@require_POST
def access_key_delete_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(AccessKey, pk=pk, user=_me(request))
    access_key_delete(key=key)
    messages.success(
        request, f"Access key {key.access_key} deleted; its long-term commands no longer work."
    )
    return navigate(request, reverse("dashboard:account-access-keys"))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def api_tokens(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the user's active API tokens. POST: make one and show it once."""
    form = ApiTokenForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            expires_on = form.cleaned_data["expires_on"]
            expires_at = (
                dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time.min, dt.UTC)
                if expires_on
                else None
            )
            token, text = api_token_create(
                user=_me(request), name=form.cleaned_data["name"], expires_at=expires_at
            )
            created = {"token": token, "text": text}
            messages.success(request, f"API token {token.name} created. Copy it now.")
            form = ApiTokenForm()
        else:
            status = 422
    context = {"form": form, "created": created, "tokens": api_tokens_active(user=_me(request))}
    return _render(request, "dashboard/account_api_tokens.html", context, status)


@login_required
@require_POST
def api_token_revoke_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=_me(request))
    api_token_revoke(token=token)
    messages.success(request, f"API token {token.name} revoked.")
    return navigate(request, reverse("dashboard:account-api-tokens"))
