"""Login commands with a real client: skopeo logs in to the real registry through Berth's realm
with a temporary login secret or an access key's long-term password, and then may do exactly
what the user may."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from dashboard.models import LoginSecret, Organization
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from dashboard.services.credentials import (
    access_key_create,
    access_key_delete,
    access_key_set_active,
    login_secret_create,
    login_secret_revoke,
    long_term_password,
)
from tests.servers import RegistryProcess
from tests.test_token_realm import Skopeo, _indexed


def _uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def skopeo(tmp_path: Path, running_registry: RegistryProcess, worker: object) -> Skopeo:
    return Skopeo(tmp_path, running_registry)


def _refused(result) -> bool:  # type: ignore[no-untyped-def]
    return result.returncode != 0 and "invalid username/password" in result.stderr


def test_temporary_command_logs_in_and_pushes_and_pulls_as_its_user(
    skopeo: Skopeo, owner: User, make_org: Callable[..., Organization]
) -> None:
    org = make_org(f"lc-{_uid()}", creator=owner)
    _secret, username, password = login_secret_create(user=owner, duration=dt.timedelta(hours=1))
    assert username.startswith(f"{settings.REGION}@")
    login = skopeo.login(username, password)
    assert login.returncode == 0, login.stderr
    assert "Login Succeeded" in login.stdout
    image = build_image(labels={"case": _uid()})
    pushed = skopeo.push(image, f"{org.name}/app:v1")
    assert pushed.returncode == 0, pushed.stderr
    # The registry sees the user, not the login secret, as the one who pushed.
    assert _indexed(org, "app", "v1", image.digest).pushed_by == "owner"
    pulled = skopeo.pull(f"{org.name}/app:v1")
    assert pulled.returncode == 0, pulled.stderr


def test_temporary_command_carries_only_its_users_permissions(
    skopeo: Skopeo,
    owner: User,
    outsider: User,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
) -> None:
    org = make_org(f"lc-{_uid()}", creator=owner)
    image = build_image(labels={"case": _uid()})
    push_image(berth_registry_client, f"{org.name}/app", image, "v1")
    _indexed(org, "app", "v1", image.digest)
    _secret, username, password = login_secret_create(user=outsider)
    assert skopeo.login(username, password).returncode == 0
    pulled = skopeo.pull(f"{org.name}/app:v1")
    assert pulled.returncode != 0
    assert "denied" in pulled.stderr or "unauthorized" in pulled.stderr
    pushed = skopeo.push(build_image(labels={"case": _uid()}), f"{org.name}/app:v2")
    assert pushed.returncode != 0
    assert berth_registry_client.tags(f"{org.name}/app") == ["v1"]


def test_long_term_access_key_command_logs_in_and_pulls(
    skopeo: Skopeo,
    owner: User,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
) -> None:
    org = make_org(f"lc-{_uid()}", creator=owner)
    image = build_image(labels={"case": _uid()})
    push_image(berth_registry_client, f"{org.name}/app", image, "v1")
    _indexed(org, "app", "v1", image.digest)
    key, secret_key = access_key_create(user=owner, description="ci")
    username = f"{settings.REGION}@{key.access_key}"
    login = skopeo.login(username, long_term_password(key.access_key, secret_key))
    assert login.returncode == 0, login.stderr
    pulled = skopeo.pull(f"{org.name}/app:v1")
    assert pulled.returncode == 0, pulled.stderr
    # The SK itself is not a docker password.
    assert _refused(skopeo.login(username, secret_key))


def test_revoked_and_expired_temporary_commands_fail_to_log_in(skopeo: Skopeo, owner: User) -> None:
    revoked, revoked_user, revoked_password = login_secret_create(user=owner)
    assert skopeo.login(revoked_user, revoked_password).returncode == 0
    login_secret_revoke(secret=revoked)
    assert _refused(skopeo.login(revoked_user, revoked_password))

    expired, expired_user, expired_password = login_secret_create(user=owner)
    assert skopeo.login(expired_user, expired_password).returncode == 0
    LoginSecret.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert _refused(skopeo.login(expired_user, expired_password))


def test_deactivated_and_deleted_access_keys_fail_to_log_in(skopeo: Skopeo, owner: User) -> None:
    key, secret_key = access_key_create(user=owner)
    username = f"{settings.REGION}@{key.access_key}"
    password = long_term_password(key.access_key, secret_key)
    assert skopeo.login(username, password).returncode == 0
    access_key_set_active(key=key, active=False)
    assert _refused(skopeo.login(username, password))
    access_key_set_active(key=key, active=True)
    assert skopeo.login(username, password).returncode == 0
    access_key_delete(key=key)
    assert _refused(skopeo.login(username, password))
