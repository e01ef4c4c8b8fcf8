"""The access matrix against the real registry: every persona x pull, push, delete, catalog.

Each cell is allowed exactly when the permission function says so, and the function's answer is
also pinned to a literal table, so the test fails if either the registry path or the function
drifts. Pull, push and delete go through a client holding tokens from Berth's realm with the
persona's password (as docker does); skopeo logs in and pulls for a few cells.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser, Group, User
from django.utils import timezone

from dashboard.models import Level, Organization, OrganizationPermission, Repository, Share
from dashboard.registry.client import RealmTokenProvider, RegistryClient
from dashboard.registry.errors import RegistryAuthError, RegistryNotFound
from dashboard.registry.images import build_image, push_image
from dashboard.services.access import actions_for_level, repository_level
from tests.conftest import PASSWORD
from tests.servers import RegistryProcess, wait_for
from tests.test_token_realm import Skopeo

pytestmark = pytest.mark.registry

PERSONAS = (
    "anonymous",
    "outsider",
    "reader",
    "writer",
    "manager",
    "team-member",
    "share-valid",
    "share-expired",
    "superuser",
)
#: What each persona may do on a private repository, written out: the function must agree.
EXPECTED: dict[str, set[str]] = {
    "anonymous": set(),
    "outsider": set(),
    "reader": {"pull"},
    "writer": {"pull", "push"},
    "manager": {"pull", "push", "delete"},
    "team-member": {"pull"},
    "share-valid": {"pull"},
    "share-expired": set(),
    "superuser": {"pull", "push", "delete", "catalog"},
}


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _allowed(
    operation: str, client: RegistryClient, path: str, uid: str, digest: str
) -> tuple[bool, Exception | None]:
    """Try `operation` on the real registry; (succeeded, the error when refused)."""
    try:
        if operation == "pull":
            client.get_manifest(path, "v1")
        elif operation == "push":
            push_image(client, path, build_image(labels={"push": uid}), f"push-{uid}")
        elif operation == "delete":
            client.delete_manifest(path, digest)
        else:
            list(client.catalog())
    except RegistryAuthError as exc:
        return False, exc
    return True, None


def test_every_persona_and_operation_is_allowed_exactly_as_the_permission_function_says(
    settings,
    tmp_path: Path,
    running_registry: RegistryProcess,
    worker: object,
    live_server,  # type: ignore[no-untyped-def]
    berth_registry_client: RegistryClient,
) -> None:
    settings.RATE_LIMIT_TOKEN = 0  # the matrix asks for many tokens from one address
    uid = _uid()
    names = {p: f"{p}-{uid}" for p in PERSONAS if p != "anonymous"}
    accounts: dict[str, User] = {}
    for persona, username in names.items():
        if persona == "superuser":
            accounts[persona] = User.objects.create_superuser(username, password=PASSWORD)
        else:
            accounts[persona] = User.objects.create_user(username, password=PASSWORD)
    users: dict[str, User | AnonymousUser] = {"anonymous": AnonymousUser(), **accounts}
    org = Organization.objects.create(name=f"matrix-{uid}", creator=accounts["manager"])
    for persona, grant in (
        ("manager", Level.MANAGE),
        ("writer", Level.WRITE),
        ("reader", Level.READ),
    ):
        OrganizationPermission.objects.create(organization=org, user=accounts[persona], level=grant)
    team = Group.objects.create(name=f"readers-{uid}")
    accounts["team-member"].groups.add(team)
    OrganizationPermission.objects.create(organization=org, team=team, level=Level.READ)

    path = f"{org.name}/app"
    image = build_image(labels={"matrix": uid})
    push_image(berth_registry_client, path, image, "v1")
    wait_for(
        lambda: Repository.objects.filter(organization=org, name="app").exists(),
        timeout=30,
        what="the index to show the pushed repository",
    )
    repository = Repository.objects.get(organization=org, name="app")
    assert not repository.is_public
    now = timezone.now()
    for persona, deadline in (
        ("share-valid", now + dt.timedelta(days=1)),
        ("share-expired", now - dt.timedelta(seconds=1)),
    ):
        share_team = Group.objects.create(name=f"{persona}-{uid}")
        accounts[persona].groups.add(share_team)
        Share.objects.create(repository=repository, team=share_team, deadline=deadline)

    # One manifest per persona to delete, so an allowed delete never removes another's target.
    targets = {
        persona: push_image(
            berth_registry_client, path, build_image(labels={"del": f"{persona}-{uid}"}), None
        )
        for persona in PERSONAS
    }
    realm = f"{live_server.url}/service/token"
    got: dict[str, set[str]] = {}
    for persona in PERSONAS:
        user = users[persona]
        level = repository_level(user=user, organization=org, repository=repository)
        computed = actions_for_level(level) | (
            {"catalog"} if user.is_authenticated and user.is_superuser else set()
        )
        assert computed == EXPECTED[persona], (persona, computed)

        # The realm's own answer for the catalog scope.
        auth = (names[persona], PASSWORD) if persona in names else None
        answer = requests.get(
            realm,
            params={"service": django_settings.TOKEN_SERVICE, "scope": "registry:catalog:*"},
            auth=auth,
            timeout=30,
        )
        assert answer.status_code == 200, (persona, answer.text)
        access = jwt.decode(answer.json()["token"], options={"verify_signature": False})["access"]
        catalog = {"*"} if "catalog" in EXPECTED[persona] else set()
        assert access == [{"type": "registry", "name": "catalog", "actions": sorted(catalog)}]

        provider = RealmTokenProvider(
            realm,
            service=django_settings.TOKEN_SERVICE,
            username=names.get(persona),
            password=PASSWORD,
        )
        client = RegistryClient(running_registry.url, token_provider=provider, retries=0)
        got[persona] = set()
        for operation in ("pull", "push", "delete", "catalog"):
            ok, error = _allowed(operation, client, path, f"{persona}-{uid}", targets[persona])
            assert ok == (operation in EXPECTED[persona]), (persona, operation, error)
            if ok:
                got[persona].add(operation)
        # The registry agrees with what happened: the target is gone exactly when deleted.
        if "delete" in got[persona]:
            with pytest.raises(RegistryNotFound):
                berth_registry_client.head_manifest(path, targets[persona])
        else:
            assert (
                berth_registry_client.head_manifest(path, targets[persona]).digest
                == (targets[persona])
            )
    assert got == EXPECTED

    # A real client: skopeo logs in and pulls for a few cells.
    skopeo = Skopeo(tmp_path, running_registry)
    for persona in ("reader", "share-valid", "share-expired", "outsider"):
        login = skopeo.login(names[persona])
        assert login.returncode == 0, login.stderr
        pulled = skopeo.pull(f"{path}:v1")
        assert (pulled.returncode == 0) == ("pull" in EXPECTED[persona]), (persona, pulled.stderr)
    anonymous = skopeo.pull(f"{path}:v1", "--src-no-creds")
    assert anonymous.returncode != 0
    assert "denied" in anonymous.stderr or "unauthorized" in anonymous.stderr
