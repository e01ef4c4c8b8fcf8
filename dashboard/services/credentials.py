"""A user's own credentials: temporary login secrets, access keys (AK/SK) and API tokens.

Secrets are stored hashed, except the SK, which is stored encrypted because it must be recovered
(the long-term docker password is derived from it, and the SWR API verifies SDK signatures with
it). No function here logs a secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import string

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from dashboard.models import AccessKey, ApiToken, LoginSecret
from dashboard.services.audit import audit_record
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.services.sealed import InvalidToken, seal, unseal

LOGIN_SECRET_MIN = dt.timedelta(minutes=15)
LOGIN_SECRET_MAX = dt.timedelta(hours=24)
LOGIN_SECRET_DEFAULT = LOGIN_SECRET_MAX
#: Writing `last_used_at` on every token request would make each login a write; once a minute
#: is enough to answer "when was this last used".
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)
API_TOKEN_PREFIX = "berth_"
_AK_ALPHABET = string.ascii_uppercase + string.digits
_SK_ALPHABET = string.ascii_letters + string.digits


def _secret_hash(secret: str) -> str:
    """HMAC-SHA256 of a generated secret, keyed by SECRET_KEY, as hex.

    A slow password hash (PBKDF2, argon2) protects low-entropy human passwords from guessing.
    These secrets are 32 random bytes: nobody can guess them, fast hash or not, so one HMAC is
    as safe and keeps the token realm fast under many logins. The key means a leaked table alone
    cannot even be used to check candidates.
    """
    return hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()


def _touch(instance: LoginSecret | AccessKey | ApiToken) -> None:
    """Record a use, at most once per LAST_USED_GRANULARITY."""
    now = timezone.now()
    if instance.last_used_at is None or now - instance.last_used_at >= LAST_USED_GRANULARITY:
        type(instance).objects.filter(pk=instance.pk).update(last_used_at=now)
        instance.last_used_at = now


#: The username prefix of SWR's "enhanced" temporary login command: `bearertoken@<id>`.
BEARER_PREFIX = "bearertoken"


def registry_username(key_id: str, *, bearer: bool = False) -> str:
    """The docker login username for a login secret id or an access key: `<region>@<id>`, or
    `bearertoken@<id>` for the secret of an enhanced login command."""
    return f"{BEARER_PREFIX if bearer else settings.REGION}@{key_id}"


def registry_username_parse(username: str) -> tuple[str, bool] | None:
    """(id, bearer) of a registry credential's username, or None for any other name.

    `<region>@<id>` names a login secret or an access key; `bearertoken@<id>` names a login
    secret only (SWR's enhanced temporary login)."""
    prefix, sep, key_id = username.partition("@")
    if not sep or not key_id:
        return None
    if prefix == settings.REGION:
        return key_id, False
    if prefix == BEARER_PREFIX:
        return key_id, True
    return None


# -- temporary login secrets -------------------------------------------------------------------


def login_secret_create(
    *, user: User, duration: dt.timedelta = LOGIN_SECRET_DEFAULT, bearer: bool = False
) -> tuple[LoginSecret, str, str]:
    """A new temporary docker login credential valid for `duration`; with `bearer`, its
    username is the enhanced form `bearertoken@<id>` (the secret is the same kind).

    Returns (secret, username, password); the password is never stored and cannot be shown again.
    Raises ServiceError 4000014 (400) when `duration` is outside 15 minutes to 24 hours.
    """
    if not LOGIN_SECRET_MIN <= duration <= LOGIN_SECRET_MAX:
        raise ServiceError(
            INVALID_PARAMETERS, "A login command is valid for 15 minutes to 24 hours.", 400
        )
    key_id = secrets.token_hex(10).upper()
    password = secrets.token_urlsafe(32)
    now = timezone.now()
    secret = LoginSecret.objects.create(
        user=user,
        key_id=key_id,
        secret_hash=_secret_hash(password),
        created_at=now,
        expires_at=now + duration,
    )
    username = registry_username(key_id, bearer=bearer)
    audit_record(
        action="createDockerConfig",
        resource_type="dockerlogincmd",
        resource_name=username,
        actor=user,
        detail={"expires_at": secret.expires_at.isoformat()},
    )
    return secret, username, password


def login_secrets_active(*, user: User) -> QuerySet[LoginSecret]:
    """The user's login secrets that are neither revoked nor expired, newest first."""
    return LoginSecret.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def login_secret_revoke(*, secret: LoginSecret) -> None:
    """Revoke the secret; tokens already issued with it run out on their own (minutes)."""
    if secret.revoked_at is None:
        secret.revoked_at = timezone.now()
        secret.save(update_fields=["revoked_at"])
        audit_record(
            action="deleteDockerConfig",
            resource_type="dockerlogincmd",
            resource_name=registry_username(secret.key_id),
            actor=secret.user,
        )


def login_secret_authenticate(key_id: str, password: str) -> User | None:
    """The owner of a valid (unrevoked, unexpired) login secret `key_id` with this password."""
    secret = (
        LoginSecret.objects.select_related("user")
        .filter(key_id=key_id, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if secret is None or not hmac.compare_digest(secret.secret_hash, _secret_hash(password)):
        return None
    _touch(secret)
    return secret.user


# -- access keys -------------------------------------------------------------------------------


# The HKDF label keeps access keys made before the shared helper readable.
_SK_PURPOSE = "berth access key secrets"


def long_term_password(access_key: str, secret_key: str) -> str:
    """SWR's long-term login key: lowercase hex HMAC-SHA256 of the AK keyed by the SK."""
    return hmac.new(secret_key.encode(), access_key.encode(), hashlib.sha256).hexdigest()


def access_key_create(*, user: User, description: str = "") -> tuple[AccessKey, str]:
    """A new active AK/SK pair. Returns (key, secret_key); the SK is shown to the user only once.

    Raises ServiceError 4000014 (400) when the description is longer than 255 characters.
    """
    if len(description) > 255:
        raise ServiceError(INVALID_PARAMETERS, "The description is at most 255 characters.", 400)
    secret_key = "".join(secrets.choice(_SK_ALPHABET) for _ in range(40))
    while True:
        access_key = "".join(secrets.choice(_AK_ALPHABET) for _ in range(20))
        if not AccessKey.objects.filter(access_key=access_key).exists():
            break
    key = AccessKey.objects.create(
        user=user,
        access_key=access_key,
        secret_encrypted=seal(secret_key, purpose=_SK_PURPOSE),
        description=description,
    )
    audit_record(
        action="createAccessKey", resource_type="accesskey", resource_name=access_key, actor=user
    )
    return key, secret_key


def access_key_secret(*, key: AccessKey) -> str:
    """The key's SK, decrypted. Raises ServiceError 4000014 when it cannot be decrypted (the
    SECRET_KEY changed since the key was made)."""
    try:
        return unseal(key.secret_encrypted, purpose=_SK_PURPOSE)
    except InvalidToken as exc:
        raise ServiceError(
            INVALID_PARAMETERS, "This access key can no longer be read; create a new one.", 400
        ) from exc


def access_key_set_active(*, key: AccessKey, active: bool) -> None:
    """Enable or disable the key; a disabled key's long-term commands stop working."""
    key.is_active = active
    key.save(update_fields=["is_active"])
    audit_record(
        action="updateAccessKey",
        resource_type="accesskey",
        resource_name=key.access_key,
        actor=key.user,
        detail={"active": active},
    )


def access_key_delete(*, key: AccessKey) -> None:
    """Delete the key: every long-term command derived from it stops working."""
    key.delete()
    audit_record(
        action="deleteAccessKey",
        resource_type="accesskey",
        resource_name=key.access_key,
        actor=key.user,
    )


def access_key_touch(*, key: AccessKey) -> None:
    """Record that `key` was just used (a signed API request)."""
    _touch(key)


def access_key_authenticate(access_key: str, password: str) -> User | None:
    """The owner of the active key `access_key` when `password` is its long-term password."""
    key = (
        AccessKey.objects.select_related("user")
        .filter(access_key=access_key, is_active=True)
        .first()
    )
    if key is None:
        return None
    try:
        expected = long_term_password(key.access_key, access_key_secret(key=key))
    except ServiceError:
        return None
    if not hmac.compare_digest(expected.encode(), password.encode()):
        return None
    _touch(key)
    return key.user


# -- API tokens --------------------------------------------------------------------------------


def _token_hash(token_text: str) -> str:
    # A plain SHA-256 is enough for 32 random bytes (see _secret_hash) and lets the lookup be an
    # exact match on the unique column.
    return hashlib.sha256(token_text.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new API token. Returns (token, token_text); the text is shown to the user only once.

    Raises ServiceError 4000014 (400) for an empty or too long name or an expiry in the past.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise ServiceError(INVALID_PARAMETERS, "A token needs a name of 1 to 100 characters.", 400)
    if expires_at is not None and expires_at <= timezone.now():
        raise ServiceError(INVALID_PARAMETERS, "The expiry must be in the future.", 400)
    token_text = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=token_text[:12],
        token_hash=_token_hash(token_text),
        expires_at=expires_at,
    )
    audit_record(
        action="createApiToken",
        resource_type="apitoken",
        resource_name=f"{name} ({token.prefix})",
        actor=user,
    )
    return token, token_text


def api_tokens_active(*, user: User) -> QuerySet[ApiToken]:
    """The user's tokens that are neither revoked nor expired, newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


def api_token_revoke(*, token: ApiToken) -> None:
    """Revoke the token at once."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            action="deleteApiToken",
            resource_type="apitoken",
            resource_name=f"{token.name} ({token.prefix})",
            actor=token.user,
        )


def api_token_authenticate(token_text: str) -> User | None:
    """The active owner of a valid (unrevoked, unexpired) token, or None."""
    if not token_text.startswith(API_TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=_token_hash(token_text), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    _touch(token)
    return token.user
