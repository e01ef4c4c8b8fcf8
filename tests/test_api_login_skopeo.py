"""The login commands the SWR API hands out work with a real client: the official SDK asks Berth
for a temporary (CreateSecret) or enhanced (CreateAuthorizationToken) login command, and skopeo
logs in to the real registry with exactly what came back, then pushes and pulls as its user."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from huaweicloudsdkswr.v2.model import CreateAuthorizationTokenRequest, CreateSecretRequest

from dashboard.models import Organization
from dashboard.registry.images import build_image
from tests.servers import RegistryProcess
from tests.swr_api import sdk_client
from tests.test_token_realm import Skopeo, _indexed


def _uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def skopeo(tmp_path: Path, running_registry: RegistryProcess, worker: object) -> Skopeo:
    return Skopeo(tmp_path, running_registry)


def _command(response: object) -> tuple[str, str, str]:
    """(host, username, password) the way SWR's clients build the command: the header's
    `docker login -u <user> -p <password>` followed by the key of `auths`."""
    [host] = response.auths  # type: ignore[attr-defined]
    words = response.x_swr_dockerlogin.split()  # type: ignore[attr-defined]
    assert words[:3] == ["docker", "login", "-u"] and words[4] == "-p"
    basic = base64.b64decode(response.auths[host].auth).decode()  # type: ignore[attr-defined]
    assert basic == f"{words[3]}:{words[5]}"
    return host, words[3], words[5]


@pytest.mark.registry
def test_the_temporary_command_from_the_sdk_logs_skopeo_in_to_push_and_pull(
    skopeo: Skopeo, live_server, owner: User, make_org: Callable[..., Organization]
) -> None:  # type: ignore[no-untyped-def]
    org = make_org(f"api-login-{_uid()}", creator=owner)
    response = sdk_client(live_server.url, owner).create_secret(CreateSecretRequest())
    host, username, password = _command(response)
    assert host == skopeo.host
    login = skopeo.login(username, password)
    assert login.returncode == 0, login.stderr
    image = build_image(labels={"case": _uid()})
    pushed = skopeo.push(image, f"{org.name}/app:v1")
    assert pushed.returncode == 0, pushed.stderr
    assert _indexed(org, "app", "v1", image.digest).pushed_by == "owner"
    pulled = skopeo.pull(f"{org.name}/app:v1")
    assert pulled.returncode == 0, pulled.stderr


@pytest.mark.registry
def test_the_enhanced_command_logs_in_as_bearertoken_with_the_users_permissions(
    skopeo: Skopeo,
    live_server,
    owner: User,
    outsider: User,
    make_org: Callable[..., Organization],
) -> None:  # type: ignore[no-untyped-def]
    org = make_org(f"api-login-{_uid()}", creator=owner)
    image = build_image(labels={"case": _uid()})
    owner_sdk = sdk_client(live_server.url, owner)
    _, username, password = _command(
        owner_sdk.create_authorization_token(CreateAuthorizationTokenRequest())
    )
    assert username.startswith("bearertoken@")
    assert skopeo.login(username, password).returncode == 0
    pushed = skopeo.push(image, f"{org.name}/app:v1")
    assert pushed.returncode == 0, pushed.stderr
    _indexed(org, "app", "v1", image.digest)

    # Another user's enhanced command logs in, but carries only that user's (no) permissions.
    outsider_sdk = sdk_client(live_server.url, outsider)
    _, other_name, other_password = _command(
        outsider_sdk.create_authorization_token(CreateAuthorizationTokenRequest())
    )
    assert skopeo.login(other_name, other_password).returncode == 0
    refused = skopeo.pull(f"{org.name}/app:v1")
    assert refused.returncode != 0
    assert "denied" in refused.stderr or "unauthorized" in refused.stderr
    bad = skopeo.login(other_name, other_password + "x")
    assert bad.returncode != 0 and "invalid username/password" in bad.stderr
