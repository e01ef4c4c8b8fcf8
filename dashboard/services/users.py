"""Users, for SWR administrators (superusers): create local users, deactivate and reactivate,
make and remove administrators, set passwords, delete.

- Only active superusers do any of this (4039002 otherwise).
- Usernames follow Django's rules (at most 150 letters, digits and `@.+-_`), are unique ignoring
  case, and never start with `<region>@`: that is how login commands and access keys are named
  in `docker login` (4001067; 409 when taken).
- Nobody deactivates, demotes or deletes themselves, and the last active administrator stays
  one (4039002).
- A user holding an organization's last Manage grant is not deleted (4039002): like revoking
  that grant (dashboard/services/permissions.py), it would leave the organization to
  administrators only. Deactivating them is allowed: it can be undone.
- Passwords are set for local users only (`user_sign_in`): LDAP and OIDC users sign in with
  the directory's, and both refuse to take over an account that has a password of its own.
- Passwords pass AUTH_PASSWORD_VALIDATORS (4000014). No password reaches a trace, a log or an
  error message; a generated one is returned for showing once.

Deactivation takes effect at once: sessions end (every backend's `get_user` checks `is_active`),
and the token realm, its credential cache, login secrets, access keys and API tokens all refuse
inactive users. Registry tokens already issued live until they expire (BERTH_TOKEN_TTL).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from dashboard.models import Level, OrganizationPermission
from dashboard.selectors.users import user_sign_in
from dashboard.services.access import AnyUser
from dashboard.services.audit import audit_record
from dashboard.services.errors import FORBIDDEN, INVALID_PARAMETERS, INVALID_USERNAME, ServiceError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: 24 URL-safe characters (144 random bits).
GENERATED_PASSWORD_BYTES = 18
FULL_NAME_MAX = 150


def username_error(username: str) -> str | None:
    """Why `username` cannot name a new user, or None when it can (taken names aside)."""
    if not username:
        return "The username is required."
    try:
        get_user_model()._meta.get_field("username").run_validators(username)
    except ValidationError as error:
        return " ".join(error.messages)
    if username.startswith(f"{settings.REGION}@"):
        return (
            f"Names starting with {settings.REGION}@ are how login commands and access keys "
            "sign in to the registry."
        )
    return None


def _require_administrator(actor: AnyUser) -> None:
    if not (actor.is_authenticated and actor.is_active and actor.is_superuser):
        raise ServiceError(FORBIDDEN, "Only administrators manage users.", 403)


def _refuse_self(user: User, actor: AnyUser, doing: str) -> None:
    if user.pk == actor.pk:
        raise ServiceError(FORBIDDEN, f"You cannot {doing} yourself.", 403)


def _keep_an_administrator(user: User) -> None:
    """Refuse (4039002) a change that would leave no active administrator; call it inside the
    change's transaction (the other administrators' rows are locked until it commits)."""
    if not (user.is_superuser and user.is_active):
        return
    others = (
        get_user_model()
        .objects.select_for_update()
        .filter(is_superuser=True, is_active=True)
        .exclude(pk=user.pk)
    )
    if not others.exists():
        raise ServiceError(
            FORBIDDEN,
            f"{user.get_username()} is the last active administrator: make someone else one first.",
            403,
        )


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        # The validators' messages describe the rule, never the password itself.
        raise ServiceError(
            INVALID_PARAMETERS, "The password is refused: " + " ".join(error.messages), 400
        ) from None


def _audit_update(user: User, actor: AnyUser, **detail: object) -> None:
    audit_record(
        action="updateUser",
        resource_type="user",
        resource_name=user.get_username(),
        actor=actor,
        detail=detail,
    )


def user_create(
    *,
    username: str,
    email: str,
    actor: AnyUser,
    full_name: str = "",
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create an active local user who is not an administrator, with `password`, or with a
    generated one when it is None. Returns (user, the generated password or None).

    Raises ServiceError: 4039002 (403) unless the actor is an active superuser; 4001067 (400)
    for an invalid username, (409) when it is taken, ignoring case; 4000014 (400) for a missing
    or invalid email address, a full name over 150 characters or a password the validators
    refuse.
    """
    _require_administrator(actor)
    model = get_user_model()
    username = model.normalize_username(username.strip())
    problem = username_error(username)
    if problem is not None:
        raise ServiceError(INVALID_USERNAME, f"Invalid username: {problem}", 400)
    email = model.objects.normalize_email(email.strip())
    if not email:
        raise ServiceError(INVALID_PARAMETERS, "The email address is required.", 400)
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(INVALID_PARAMETERS, f"{email!r} is not an email address.", 400) from None
    full_name = " ".join(full_name.split())
    if len(full_name) > FULL_NAME_MAX:
        raise ServiceError(
            INVALID_PARAMETERS, f"The full name is over {FULL_NAME_MAX} characters.", 400
        )
    first_name, _, last_name = full_name.partition(" ")
    user = model(username=username, email=email, first_name=first_name, last_name=last_name)
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    else:
        _check_password(password, user)
    user.set_password(password)
    taken = ServiceError(INVALID_USERNAME, f"A user named {username!r} already exists.", 409)
    try:
        with transaction.atomic():
            if model.objects.filter(username__iexact=username).exists():
                raise taken
            user.save()
            audit_record(
                action="createUser",
                resource_type="user",
                resource_name=username,
                actor=actor,
                detail={"email": email, "password": "generated" if generated else "typed"},
            )
    except IntegrityError:
        raise taken from None
    return user, generated


def user_set_active(*, user: User, active: bool, actor: AnyUser) -> None:
    """Reactivate (`active`) or deactivate `user`; nothing changes when they already are.
    A deactivated user signs in nowhere: pages, token realm, login commands, access keys, API.

    Raises ServiceError 4039002 (403) unless the actor is an active superuser, and for
    deactivating oneself or the last active administrator.
    """
    _require_administrator(actor)
    if user.is_active == active:
        return
    if not active:
        _refuse_self(user, actor, "deactivate")
    with transaction.atomic():
        if not active:
            _keep_an_administrator(user)
        user.is_active = active
        user.save(update_fields=["is_active"])
        _audit_update(user, actor, is_active=active)


def user_set_admin(*, user: User, admin: bool, actor: AnyUser) -> None:
    """Make `user` an administrator (superuser, and staff for Django's admin) or a plain user
    again; nothing changes when they already are. For LDAP users with
    BERTH_LDAP_SUPERUSER_GROUP the directory decides again at their next sign-in.

    Raises ServiceError 4039002 (403) unless the actor is an active superuser, and for demoting
    oneself or the last active administrator.
    """
    _require_administrator(actor)
    if user.is_superuser == admin:
        return
    if not admin:
        _refuse_self(user, actor, "demote")
    with transaction.atomic():
        if not admin:
            _keep_an_administrator(user)
        user.is_superuser = user.is_staff = admin
        user.save(update_fields=["is_superuser", "is_staff"])
        _audit_update(user, actor, is_superuser=admin)


def user_set_password(*, user: User, actor: AnyUser, password: str | None = None) -> str | None:
    """Give local user `user` a new password: `password`, or a generated one when it is None.
    Their sessions end and their cached registry sign-ins stop working. Returns the generated
    password or None.

    Raises ServiceError: 4039002 (403) unless the actor is an active superuser; 4000014 (400)
    for a user who signs in through LDAP or OIDC, or a password the validators refuse.
    """
    _require_administrator(actor)
    sign_in = user_sign_in(user=user)
    if not sign_in.is_local:
        raise ServiceError(
            INVALID_PARAMETERS,
            f"{user.get_username()} signs in through {sign_in.label}: their password is the "
            "directory's.",
            400,
        )
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    else:
        _check_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        _audit_update(user, actor, password="generated" if generated else "typed")
    return generated


def _organizations_only_managed_by(user: User) -> list[str]:
    """Names of the organizations whose only Manage grant is `user`'s own."""
    other_managers = OrganizationPermission.objects.filter(
        organization=OuterRef("organization"), level=Level.MANAGE
    ).exclude(user=user)
    return list(
        OrganizationPermission.objects.filter(user=user, level=Level.MANAGE)
        .exclude(Exists(other_managers))
        .order_by("organization__name")
        .values_list("organization__name", flat=True)
    )


def user_delete(*, user: User, actor: AnyUser) -> None:
    """Delete `user` with their grants, credentials and access requests; audit entries keep
    their name. A user from LDAP or OIDC comes back at their next sign-in (deactivate them to
    keep them out).

    Raises ServiceError 4039002 (403) unless the actor is an active superuser, and for deleting
    oneself, the last active administrator, or the last Manage holder of an organization.
    """
    _require_administrator(actor)
    _refuse_self(user, actor, "delete")
    name = user.get_username()
    with transaction.atomic():
        _keep_an_administrator(user)
        orphans = _organizations_only_managed_by(user)
        if orphans:
            raise ServiceError(
                FORBIDDEN,
                f"{name} is the only Manage holder of {', '.join(orphans)}: grant Manage to "
                "someone else first, or deactivate the user instead.",
                403,
            )
        user.delete()
        audit_record(action="deleteUser", resource_type="user", resource_name=name, actor=actor)
