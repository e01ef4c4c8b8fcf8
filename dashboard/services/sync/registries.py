"""Sync: remote registries (SWR's regions), for superusers; the client that reaches one."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.models import RemoteRegistry, SyncRule
from dashboard.registry import errors
from dashboard.registry.remote import RemoteClient
from dashboard.services.access import AnyUser
from dashboard.services.audit import audit_record
from dashboard.services.errors import (
    DESCRIPTION_TOO_LONG,
    FORBIDDEN,
    INVALID_PARAMETERS,
    ServiceError,
)
from dashboard.services.sealed import InvalidToken, seal, unseal

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: SWR's "The requested URL was not found": an unknown region or sync rule.
SYNC_NOT_FOUND = "4040083"
#: SWR's "already exists" (4090089), the closest code SWR has for a second rule to one target
#: or a second region with one name (its sync API documents only the 409 status).
SYNC_EXISTS = "4090089"
SEAL_PURPOSE = "remote-registry-password"
NAME_MAX = 64
DESCRIPTION_MAX = 1000
_REGION_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


# -- remote registries (superusers) ----------------------------------------------------------------


def _require_superuser(actor: AnyUser) -> None:
    if not (actor.is_authenticated and actor.is_active and actor.is_superuser):
        raise ServiceError(FORBIDDEN, "Only administrators manage remote registries.", 403)


def _remote_fields(*, url: str, username: str, description: str) -> str:
    """Check the fields of a remote registry; return the URL as stored (no trailing slash)."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.path
        or parts.query
        or parts.fragment
    ):
        raise ServiceError(
            INVALID_PARAMETERS,
            "The URL must be the registry's address, http(s)://host[:port], with no path "
            "(its API lives at /v2/) and no credentials in it.",
            400,
        )
    try:
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        raise ServiceError(INVALID_PARAMETERS, "The URL has an invalid port.", 400) from None
    if len(url) > 500:
        raise ServiceError(INVALID_PARAMETERS, "The URL is over 500 characters.", 400)
    if len(username) > 255 or ":" in username:
        raise ServiceError(
            INVALID_PARAMETERS, "The user name is at most 255 characters, without ':'.", 400
        )
    if len(description) > DESCRIPTION_MAX:
        raise ServiceError(
            DESCRIPTION_TOO_LONG, f"The description is over {DESCRIPTION_MAX} characters.", 413
        )
    return url


def _remote_trace(action: str, remote: RemoteRegistry, actor: AnyUser, **detail: Any) -> None:
    audit_record(
        action=action,
        resource_type="region",
        resource_name=remote.name,
        actor=actor,
        detail={"url": remote.url, "username": remote.username, **detail},
    )


def remote_registry_create(
    *,
    name: str,
    url: str,
    username: str = "",
    password: str = "",
    verify_tls: bool = True,
    description: str = "",
    actor: AnyUser,
) -> RemoteRegistry:
    """Register a remote registry (a sync target). Returns it.

    Raises ServiceError: 4039002 (403) unless `actor` is a superuser; 4000014 (400) for a name
    that is not a region id (lowercase letters, digits, single hyphens, 1-64 characters,
    starting with a letter), a URL that is not http(s)://host[:port], or a bad user name;
    4131012 (413) for a description over 1,000 characters; 4090089 (409) when the name is taken.
    """
    _require_superuser(actor)
    name = name.strip()
    if not name or len(name) > NAME_MAX or not _REGION_NAME.match(name):
        raise ServiceError(
            INVALID_PARAMETERS,
            "The name is a region id: 1 to 64 lowercase letters, digits and single hyphens, "
            "starting with a letter (e.g. eu-west-2).",
            400,
        )
    url = _remote_fields(url=url, username=username.strip(), description=description)
    try:
        with transaction.atomic():
            remote = RemoteRegistry.objects.create(
                name=name,
                url=url,
                username=username.strip(),
                password_encrypted=seal(password, purpose=SEAL_PURPOSE) if password else "",
                verify_tls=verify_tls,
                description=description,
                created_by=cast("User", actor),
            )
            _remote_trace("createRemoteRegistry", remote, actor)
    except IntegrityError:
        raise ServiceError(
            SYNC_EXISTS, f"A remote registry named {name!r} already exists.", 409
        ) from None
    return remote


def remote_registry_update(
    *,
    remote: RemoteRegistry,
    url: str,
    username: str,
    password: str | None,
    verify_tls: bool,
    description: str,
    actor: AnyUser,
) -> RemoteRegistry:
    """Change a remote registry; its name (the region id records refer to) stays. A `password`
    of None or "" keeps the stored one, unless the user name is cleared too. A changed address
    or credential forgets the last connection test. Returns the registry.

    Raises ServiceError as `remote_registry_create` does (except for the name).
    """
    _require_superuser(actor)
    username = username.strip()
    url = _remote_fields(url=url, username=username, description=description)
    changed_access = url != remote.url or username != remote.username or bool(password)
    remote.url, remote.username = url, username
    remote.verify_tls, remote.description = verify_tls, description
    if password:
        remote.password_encrypted = seal(password, purpose=SEAL_PURPOSE)
    elif not username:
        remote.password_encrypted = ""
    if changed_access:
        remote.checked_at, remote.check_ok, remote.check_message = None, None, ""
    remote.updated_at = timezone.now()
    with transaction.atomic():
        remote.save()
        _remote_trace("updateRemoteRegistry", remote, actor, password_changed=bool(password))
    return remote


def remote_registry_delete(*, remote: RemoteRegistry, actor: AnyUser) -> int:
    """Delete a remote registry and its rules; records stay, naming it. Returns how many rules
    went with it. Raises ServiceError 4039002 (403) unless `actor` is a superuser."""
    _require_superuser(actor)
    with transaction.atomic():
        rules = SyncRule.objects.filter(remote=remote).count()
        _remote_trace("deleteRemoteRegistry", remote, actor, rules=rules)
        remote.delete()
    return rules


def remote_client(remote: RemoteRegistry) -> RemoteClient:
    """A client for `remote` with its credentials. Raises ServiceError 4000014 (400) when the
    sealed password cannot be read (SECRET_KEY changed: enter the password again)."""
    password = ""
    if remote.password_encrypted:
        try:
            password = unseal(remote.password_encrypted, purpose=SEAL_PURPOSE)
        except InvalidToken:
            raise ServiceError(
                INVALID_PARAMETERS,
                f"The password of remote registry {remote.name} cannot be read (Berth's secret "
                "key changed); an administrator must enter it again.",
                400,
            ) from None
    return RemoteClient(
        remote.url,
        name=remote.name,
        username=remote.username,
        password=password,
        verify_tls=remote.verify_tls,
        timeout=settings.SYNC_HTTP_TIMEOUT,
    )


def remote_registry_test(*, remote: RemoteRegistry, actor: AnyUser) -> RemoteRegistry:
    """Sign in to `remote` as a client would and keep the outcome on it (`checked_at`,
    `check_ok`, `check_message`: what the remote said). Returns the registry; a failing
    remote is an outcome, not an error. Raises ServiceError 4039002 (403) for non-superusers."""
    _require_superuser(actor)
    try:
        message, ok = remote_client(remote).check(), True
    except errors.RegistryError as exc:
        message, ok = str(exc), False
    except ServiceError as exc:
        message, ok = exc.message, False
    remote.checked_at, remote.check_ok, remote.check_message = timezone.now(), ok, message[:2000]
    RemoteRegistry.objects.filter(pk=remote.pk).update(
        checked_at=remote.checked_at, check_ok=ok, check_message=remote.check_message
    )
    _remote_trace("testRemoteRegistry", remote, actor, ok=ok)
    return remote


def remote_registry_get(*, name: str) -> RemoteRegistry:
    """The remote registry (region) named `name`. Raises ServiceError 4040083 (404)."""
    remote = RemoteRegistry.objects.filter(name=name.strip()).first()
    if remote is None:
        raise ServiceError(SYNC_NOT_FOUND, f"There is no remote registry {name!r}.", 404)
    return remote
