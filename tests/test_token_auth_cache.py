"""The token realm's short cache of successful sign-ins: hits skip the password hash, and any
change to the credential (password, deactivation, revocation, deletion) applies at once."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings

from dashboard.auth import backends
from dashboard.auth.credential_cache import _cache_key
from dashboard.models import AccessKey
from dashboard.services.credentials import (
    access_key_create,
    access_key_delete,
    access_key_set_active,
    login_secret_create,
    login_secret_revoke,
    long_term_password,
)

REALM = "/service/token"
PASSWORD = "a-long-human-password"


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast) that counts how often a password is checked."""

    algorithm = "counting_md5"
    verified = 0

    def verify(self, password: str, encoded: str) -> bool:
        CountingHasher.verified += 1
        return super().verify(password, encoded)


@pytest.fixture(autouse=True)
def _counting_hasher() -> Iterator[None]:
    CountingHasher.verified = 0
    with override_settings(
        PASSWORD_HASHERS=[f"{__name__}.CountingHasher"], TOKEN_AUTH_CACHE_SECONDS=300
    ):
        yield


def _user() -> User:
    return User.objects.create_user(f"cache-{uuid.uuid4().hex[:8]}", password=PASSWORD)


def _realm(username: str, password: str) -> int:
    header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    response = Client().get(
        REALM, {"service": settings.TOKEN_SERVICE}, headers={"Authorization": header}
    )
    return response.status_code


@pytest.mark.django_db
def test_second_request_does_not_hash_the_password() -> None:
    user = _user()
    assert _realm(user.username, PASSWORD) == 200
    assert CountingHasher.verified == 1
    assert _realm(user.username, PASSWORD) == 200
    assert _realm(user.username, PASSWORD) == 200
    assert CountingHasher.verified == 1


@pytest.mark.django_db
def test_the_cache_holds_neither_password_nor_hash() -> None:
    user = _user()
    assert _realm(user.username, PASSWORD) == 200
    entry = cache.get(_cache_key(user.username, PASSWORD))
    assert entry is not None and entry[0] == user.pk
    text = repr(entry)
    assert PASSWORD not in text and user.password not in text


@pytest.mark.django_db
def test_a_password_change_takes_effect_at_once() -> None:
    user = _user()
    assert _realm(user.username, PASSWORD) == 200
    user.set_password("another-password")
    user.save()
    assert _realm(user.username, PASSWORD) == 401
    assert _realm(user.username, "another-password") == 200


@pytest.mark.django_db
def test_deactivation_takes_effect_at_once() -> None:
    user = _user()
    assert _realm(user.username, PASSWORD) == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert _realm(user.username, PASSWORD) == 401


@pytest.mark.django_db
def test_a_wrong_password_never_uses_the_cache_and_is_never_stored() -> None:
    user = _user()
    assert _realm(user.username, PASSWORD) == 200
    assert _realm(user.username, "wrong") == 401
    assert CountingHasher.verified == 2  # the wrong one was really checked
    assert _realm(user.username, "wrong") == 401
    assert CountingHasher.verified == 3
    assert cache.get(_cache_key(user.username, "wrong")) is None


@pytest.mark.django_db
@override_settings(TOKEN_AUTH_CACHE_SECONDS=0)
def test_zero_seconds_turns_the_cache_off() -> None:
    user = _user()
    assert _realm(user.username, PASSWORD) == 200
    assert _realm(user.username, PASSWORD) == 200
    assert CountingHasher.verified == 2
    assert cache.get(_cache_key(user.username, PASSWORD)) is None


@pytest.mark.django_db
@override_settings(LOCKOUT_FAILURES=2)
def test_lockout_stays_in_front_of_the_cache() -> None:
    user = _user()
    assert _realm(user.username, PASSWORD) == 200
    assert _realm(user.username, "wrong") == 401
    assert _realm(user.username, "wrong") == 401
    assert _realm(user.username, PASSWORD) == 429


@pytest.mark.django_db
def test_a_revoked_login_secret_takes_effect_at_once() -> None:
    user = _user()
    secret, username, password = login_secret_create(user=user)
    with mock.patch.object(
        backends, "login_secret_authenticate", wraps=backends.login_secret_authenticate
    ) as checked:
        assert _realm(username, password) == 200
        assert _realm(username, password) == 200
        assert checked.call_count == 1
        login_secret_revoke(secret=secret)
        assert _realm(username, password) == 401
        assert checked.call_count == 2


@pytest.mark.django_db
def test_a_deleted_or_disabled_access_key_takes_effect_at_once() -> None:
    user = _user()
    key, secret_key = access_key_create(user=user)
    username = f"{settings.REGION}@{key.access_key}"
    password = long_term_password(key.access_key, secret_key)
    with mock.patch.object(
        backends, "access_key_authenticate", wraps=backends.access_key_authenticate
    ) as checked:
        assert _realm(username, password) == 200
        assert _realm(username, password) == 200
        assert checked.call_count == 1
        access_key_set_active(key=key, active=False)
        assert _realm(username, password) == 401
        access_key_set_active(key=key, active=True)
        assert _realm(username, password) == 200
        access_key_delete(key=AccessKey.objects.get(pk=key.pk))
        assert _realm(username, password) == 401


@pytest.mark.django_db
def test_a_cached_credential_of_a_deleted_and_recreated_user_is_not_reused() -> None:
    user = _user()
    assert _realm(user.username, PASSWORD) == 200
    user.delete()
    again = User.objects.create_user(user.username, password="different")
    assert _realm(again.username, PASSWORD) == 401
