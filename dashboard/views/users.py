"""Users, for SWR administrators: the list (filtered, paginated) with the create form, one
user's page (status, teams, direct grants) with its actions, deletion.

For anybody but an active superuser every page and form here answers 404, whether the user
exists or not: like a team one cannot see (dashboard/views/teams.py), there is nothing here for
them. The services refuse non-administrators as well (4039002).

A generated password is shown once, in the answer to the POST that made it (never cached).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.forms import UserCreateForm, UserPasswordForm
from dashboard.selectors.users import STATUSES, SignIn, user_grants, user_list, user_sign_in
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.services.users import (
    user_create,
    user_delete,
    user_set_active,
    user_set_admin,
    user_set_password,
)
from dashboard.views.common import HtmxHttpRequest, navigate, paginate, partial

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PER_PAGE = 25
LIST = "dashboard/users.html"
DETAIL = "dashboard/user_detail.html"


def _require_administrator(request: HtmxHttpRequest) -> None:
    """Raises Http404 unless the signed-in user is an active superuser."""
    if not (request.user.is_active and request.user.is_superuser):
        raise Http404("No such page.")


def get_user_for_admin(request: HtmxHttpRequest, username: str) -> User:
    """The user named `username`. Raises Http404 for a non-administrator, or when there is no
    such user."""
    _require_administrator(request)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise Http404("No such user.")
    return user


def _cleaned(form: forms.Form) -> dict[str, Any]:
    """The form's data. Raises ServiceError 4000014 (400) with its errors: shown in the form's
    error box, the form keeps what was typed."""
    if not form.is_valid():
        problems = [str(message) for errors in form.errors.values() for message in errors]
        raise ServiceError(INVALID_PARAMETERS, " ".join(problems), 400)
    return form.cleaned_data


def _flag(request: HtmxHttpRequest, name: str) -> bool:
    """The POSTed `name` as `true` or `false`. Raises ServiceError 4000014 (400) otherwise:
    a malformed request changes nothing."""
    value = request.POST.get(name)
    if value not in ("true", "false"):
        raise ServiceError(INVALID_PARAMETERS, f"{name} must be true or false.", 400)
    return value == "true"


def _filters(request: HtmxHttpRequest) -> QueryDict:
    """The list's filters from ?q= and ?status=, without blank or unknown values (which are
    ignored rather than refused)."""
    params = QueryDict(mutable=True)
    q, status = request.GET.get("q", "").strip(), request.GET.get("status", "")
    if q:
        params["q"] = q
    if status in STATUSES:
        params["status"] = status
    return params


@dataclass(frozen=True)
class UserRow:
    user: User
    sign_in: SignIn


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def user_list_view(request: HtmxHttpRequest) -> HttpResponse:
    """GET: every user, filtered by ?q= (name or email) and ?status=, paginated. POST: create a
    local user; a generated password is in this answer only."""
    _require_administrator(request)
    form = UserCreateForm(request.POST or None)
    created = None
    if request.method == "POST":
        data = _cleaned(form)
        user, generated = user_create(
            username=data["username"],
            email=data["email"],
            full_name=data["full_name"],
            password=form.chosen_password(),
            actor=request.user,
        )
        created = {"user": user, "password": generated}
        messages.success(request, f"User {user.get_username()} created.")
        form = UserCreateForm()
    params = _filters(request)
    users = user_list(q=params.get("q", ""), status=params.get("status", ""))
    page = paginate(users, PER_PAGE, request.GET.get("page"))
    context = {
        "form": form,
        "created": created,
        "page": page,
        "rows": [UserRow(user, user_sign_in(user=user)) for user in page],
        "params": params,
        "statuses": STATUSES,
    }
    fragment = "section" if request.method == "POST" else "table"
    return render(request, partial(request, LIST, fragment), context)


def _detail_context(
    request: HtmxHttpRequest, user: User, new_password: str | None = None
) -> dict[str, Any]:
    sign_in = user_sign_in(user=user)
    return {
        # Not `user`: templates use that name for whoever is signed in.
        "person": user,
        "sign_in": sign_in,
        "teams": list(user.groups.order_by("name")),
        "grants": user_grants(user=user),
        "is_self": user.pk == request.user.pk,
        "new_password": new_password,
        # django-auth-ldap sets the superuser flag from BERTH_LDAP_SUPERUSER_GROUP at sign-in.
        "directory_decides_admin": sign_in.kind in ("ldap", "external")
        and bool(getattr(settings, "AUTH_LDAP_USER_FLAGS_BY_GROUP", None)),
    }


def _profile(request: HtmxHttpRequest, user: User, new_password: str | None = None) -> HttpResponse:
    """The user's page after a change: its fragment for htmx; without JavaScript a redirect,
    unless a generated password must be shown (once, in this answer)."""
    if not request.htmx and new_password is None:
        return redirect("dashboard:user-detail", username=user.get_username())
    context = _detail_context(request, user, new_password)
    return render(request, partial(request, DETAIL, "profile"), context)


@login_required
def user_detail(request: HtmxHttpRequest, username: str) -> HttpResponse:
    """One user: status, sign-in, teams and direct grants, with the administrator's actions."""
    user = get_user_for_admin(request, username)
    return render(request, partial(request, DETAIL, "profile"), _detail_context(request, user))


@login_required
@require_POST
def user_active(request: HtmxHttpRequest, username: str) -> HttpResponse:
    """Deactivate (`active=false`) or reactivate (`active=true`) the user."""
    user = get_user_for_admin(request, username)
    active = _flag(request, "active")
    user_set_active(user=user, active=active, actor=request.user)
    done = "reactivated" if active else "deactivated: they can no longer sign in"
    messages.success(request, f"{user.get_username()} {done}.")
    return _profile(request, user)


@login_required
@require_POST
def user_admin(request: HtmxHttpRequest, username: str) -> HttpResponse:
    """Make the user an administrator (`admin=true`) or a plain user again (`admin=false`)."""
    user = get_user_for_admin(request, username)
    admin = _flag(request, "admin")
    user_set_admin(user=user, admin=admin, actor=request.user)
    done = "is now an administrator" if admin else "is no longer an administrator"
    messages.success(request, f"{user.get_username()} {done}.")
    return _profile(request, user)


@login_required
@never_cache
@require_POST
def user_password(request: HtmxHttpRequest, username: str) -> HttpResponse:
    """Set a local user's password: typed twice, or generated and shown once."""
    user = get_user_for_admin(request, username)
    form = UserPasswordForm(request.POST)
    _cleaned(form)
    generated = user_set_password(user=user, password=form.chosen_password(), actor=request.user)
    if user.pk == request.user.pk:
        # Changing one's own password ends one's other sessions, not this one.
        update_session_auth_hash(request, user)
    messages.success(request, f"Password of {user.get_username()} changed.")
    return _profile(request, user, new_password=generated)


@login_required
@require_http_methods(["GET", "POST"])
def user_delete_view(request: HtmxHttpRequest, username: str) -> HttpResponse:
    """GET: confirm. POST: delete the user and go back to the list."""
    user = get_user_for_admin(request, username)
    name = user.get_username()
    if request.method == "POST":
        user_delete(user=user, actor=request.user)
        messages.success(request, f"User {name} deleted.")
        return navigate(request, reverse("dashboard:user-list"))
    explanation = (
        "Their direct grants, login commands, access keys, API tokens and access requests are "
        "deleted; audit entries keep their name."
    )
    if not user_sign_in(user=user).is_local:
        explanation += (
            " Signing in through the directory creates them again: deactivate them to keep "
            "them out."
        )
    context = {
        "title": f"Delete user {name}?",
        "items": [],
        "explanation": explanation,
        "action": reverse("dashboard:user-delete", args=[name]),
        "confirm_label": "Delete user",
        "cancel_url": reverse("dashboard:user-detail", args=[name]),
    }
    return render(request, partial(request, "dashboard/confirm.html", "dialog"), context)
