"""The token realm: what docker/skopeo send, what Berth grants, and real clients against it."""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import Client

from dashboard.models import Level, Organization, OrganizationPermission, Repository, Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.errors import RegistryAuthError
from dashboard.registry.images import BuiltImage, build_image, push_image
from dashboard.registry.tokens import Scope
from dashboard.services.access import (
    actions_for_level,
    repository_level_by_path,
    token_access_for,
)
from tests.conftest import PASSWORD
from tests.servers import RegistryProcess, wait_for

REALM = "/service/token"


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _basic(username: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _claims(token: str) -> dict:
    """The token's claims, verified with the certificate the registry trusts."""
    cert = x509.load_pem_x509_certificate(Path(settings.TOKEN_CERT_FILE).read_bytes())
    return jwt.decode(
        token,
        cert.public_key(),  # type: ignore[arg-type]
        algorithms=["RS256"],
        audience=settings.TOKEN_SERVICE,
        issuer=settings.TOKEN_ISSUER,
    )


def _access(
    client: Client,
    *scopes: str,
    username: str | None = None,
    password: str = PASSWORD,
    **params: str,
) -> dict[tuple[str, str], list[str]]:
    """Ask the realm for `scopes`; return {(type, name): actions} from the signed token."""
    headers = {"Authorization": _basic(username, password)} if username else {}
    query = {"service": settings.TOKEN_SERVICE, **params}
    if scopes:
        query["scope"] = list(scopes)  # type: ignore[assignment]
    response = client.get(REALM, query, headers=headers)
    assert response.status_code == 200, response.content
    claims = _claims(response.json()["token"])
    return {(e["type"], e["name"]): e["actions"] for e in claims["access"]}


# -- the request and response forms --------------------------------------------------------


def test_login_without_scope_returns_a_token_with_no_access(client: Client, owner) -> None:
    response = client.get(
        REALM,
        {"account": "owner", "service": settings.TOKEN_SERVICE, "client_id": "docker"},
        headers={"Authorization": _basic("owner")},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == settings.TOKEN_TTL
    assert body["issued_at"].endswith("Z")
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    claims = _claims(body["token"])
    assert claims["sub"] == "owner"
    assert claims["access"] == []


def test_offline_token_never_yields_a_refresh_token(client: Client, owner) -> None:
    response = client.get(
        REALM,
        {"service": settings.TOKEN_SERVICE, "offline_token": "true", "client_id": "docker"},
        headers={"Authorization": _basic("owner")},
    )
    assert response.status_code == 200
    assert "refresh_token" not in response.json()


def test_post_answers_404_so_clients_stay_on_get(client: Client, owner) -> None:
    response = client.post(
        REALM,
        {"grant_type": "password", "username": "owner", "password": PASSWORD, "service": "x"},
    )
    assert response.status_code == 404
    assert "token" not in response.json()


@pytest.mark.parametrize(
    "header",
    [
        _basic("owner", "wrong-password"),
        _basic("nobody-at-all"),
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer abc.def.ghi",
    ],
)
def test_bad_credentials_are_401_with_a_basic_challenge(client: Client, owner, header: str) -> None:
    response = client.get(
        REALM, {"service": settings.TOKEN_SERVICE}, headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="Berth"'
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_inactive_user_is_refused(client: Client, make_user) -> None:
    user = make_user("gone")
    user.is_active = False
    user.save()
    response = client.get(
        REALM, {"service": settings.TOKEN_SERVICE}, headers={"Authorization": _basic("gone")}
    )
    assert response.status_code == 401


def test_wrong_service_is_400(client: Client, owner) -> None:
    response = client.get(
        REALM, {"service": "someone-else"}, headers={"Authorization": _basic("owner")}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"]


def test_malformed_scopes_are_dropped_never_500(client: Client, owner, make_org) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    access = _access(
        client,
        "garbage",
        "repository:",
        "repository::pull",
        "::",
        "repository:" + "x" * 300 + ":pull",
        "Repo Sitory:a/b:pull",
        f"repository:{org.name}/UPPER:pull",
        f"repository:{org.name}/a\x00b:pull",
        f"repository:{org.name}//a:pull",
        f"repository:{org.name}/../x:pull",
        f"repository:{org.name}/caf\u00e9:pull",
        f"repository:{org.name}/app:pull",
        "",
        username="owner",
    )
    assert access == {("repository", f"{org.name}/app"): ["pull"]}


def test_repeated_scopes_are_merged_per_resource(client: Client, owner, make_org) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    access = _access(
        client,
        f"repository:{org.name}/app:pull,push",
        f"repository:{org.name}/app:pull",
        f"repository:{org.name}/app:delete",
        f"repository:{org.name}/other:pull",
        username="owner",
    )
    assert access == {
        ("repository", f"{org.name}/app"): ["pull", "push", "delete"],
        ("repository", f"{org.name}/other"): ["pull"],
    }


def test_space_separated_scopes_in_one_param_are_all_read(client: Client, owner, make_org) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    access = _access(
        client,
        f"repository:{org.name}/a:push,pull repository:{org.name}/b:pull",
        username="owner",
    )
    assert access == {
        ("repository", f"{org.name}/a"): ["pull", "push"],
        ("repository", f"{org.name}/b"): ["pull"],
    }


def test_star_gets_every_action_the_level_allows(client: Client, make_user, make_org) -> None:
    creator, reader = make_user("creator"), make_user("reader")
    org = make_org(f"tok-{_uid()}", creator=creator)
    OrganizationPermission.objects.create(organization=org, user=reader, level=Level.READ)
    scope = f"repository:{org.name}/app:*"
    assert _access(client, scope, username="creator") == {
        ("repository", f"{org.name}/app"): ["pull", "push", "delete"]
    }
    assert _access(client, scope, username="reader") == {
        ("repository", f"{org.name}/app"): ["pull"]
    }


def test_unknown_actions_and_resource_types_get_nothing(client: Client, owner, make_org) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    access = _access(
        client,
        f"repository:{org.name}/app:pull,fly",
        "registry:gc:*",
        "plugin:x:pull",
        username="owner",
    )
    assert access == {
        ("repository", f"{org.name}/app"): ["pull"],
        ("registry", "gc"): [],
        ("plugin", "x"): [],
    }


def test_catalog_only_for_superusers(client: Client, admin_user, owner) -> None:
    assert _access(client, "registry:catalog:*", username="root") == {
        ("registry", "catalog"): ["*"]
    }
    assert _access(client, "registry:catalog:*", username="owner") == {("registry", "catalog"): []}
    assert _access(client, "registry:catalog:*") == {("registry", "catalog"): []}


def test_push_into_a_missing_organization_is_refused(client: Client, admin_user, owner) -> None:
    missing = f"nope-{_uid()}/app"
    for username in ("root", "owner"):
        access = _access(client, f"repository:{missing}:pull,push", username=username)
        assert "push" not in access[("repository", missing)]


def test_outsider_gets_empty_actions_on_a_private_repository(
    client: Client, owner, outsider, make_org
) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    Repository.objects.create(organization=org, name="secret")
    access = _access(client, f"repository:{org.name}/secret:pull,push", username="outsider")
    assert access == {("repository", f"{org.name}/secret"): []}


def test_anyone_signed_in_may_pull_a_public_repository_but_not_push(
    client: Client, owner, outsider, make_org
) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    Repository.objects.create(organization=org, name="open", is_public=True)
    scope = f"repository:{org.name}/open:pull,push"
    assert _access(client, scope, username="outsider") == {
        ("repository", f"{org.name}/open"): ["pull"]
    }


def test_anonymous_pull_of_public_follows_the_setting(
    client: Client, settings, owner, make_org
) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    Repository.objects.create(organization=org, name="open", is_public=True)
    Repository.objects.create(organization=org, name="closed")
    scopes = (f"repository:{org.name}/open:pull,push", f"repository:{org.name}/closed:pull")
    settings.ANONYMOUS_PULL = True
    assert _access(client, *scopes) == {
        ("repository", f"{org.name}/open"): ["pull"],
        ("repository", f"{org.name}/closed"): [],
    }
    settings.ANONYMOUS_PULL = False
    assert _access(client, *scopes) == {
        ("repository", f"{org.name}/open"): [],
        ("repository", f"{org.name}/closed"): [],
    }


def test_team_grants_count(client: Client, make_user, make_org) -> None:
    member = make_user("member")
    team = Group.objects.create(name=f"team-{_uid()}")
    member.groups.add(team)
    org = make_org(f"tok-{_uid()}")
    OrganizationPermission.objects.create(organization=org, team=team, level=Level.WRITE)
    assert _access(client, f"repository:{org.name}/app:*", username="member") == {
        ("repository", f"{org.name}/app"): ["pull", "push"]
    }


def test_queries_per_scope_do_not_grow_with_grants_or_teams(
    make_user, make_org, django_assert_max_num_queries
) -> None:
    user = make_user("busy")
    orgs = [make_org(f"tok-{_uid()}") for _ in range(3)]
    for i in range(8):
        team = Group.objects.create(name=f"busy-{_uid()}-{i}")
        user.groups.add(team)
        for org in orgs:
            OrganizationPermission.objects.create(organization=org, team=team, level=Level.READ)
    for org in orgs:
        Repository.objects.create(organization=org, name="app")
    scopes = [Scope.parse(f"repository:{org.name}/app:pull") for org in orgs]
    # Per resource: organization, repository, organization grants, repository grants; plus
    # the user's teams once.
    with django_assert_max_num_queries(1 + 4 * len(orgs)):
        granted = token_access_for(user=user, scopes=[s for s in scopes if s])
    assert all(s.actions == ("pull",) for s in granted)


def test_token_never_exceeds_what_the_permission_function_allows(
    client: Client, make_user, make_org, admin_user
) -> None:
    """Every persona and scope: the token's actions are exactly the level's, intersected."""
    creator, writer, reader = (make_user(n) for n in ("c1", "w1", "r1"))
    make_user("o1")
    org = make_org(f"tok-{_uid()}", creator=creator)
    OrganizationPermission.objects.create(organization=org, user=writer, level=Level.WRITE)
    OrganizationPermission.objects.create(organization=org, user=reader, level=Level.READ)
    Repository.objects.create(organization=org, name="private")
    Repository.objects.create(organization=org, name="public", is_public=True)
    paths = [
        f"{org.name}/private",
        f"{org.name}/public",
        f"{org.name}/not-pushed-yet",
        f"{org.name}/deep/name",
        f"missing-{_uid()}/app",
        "no-organization",
    ]
    action_sets = ["pull", "push", "delete", "pull,push", "*", "pull,push,delete", "bogus"]
    personas: list[str | None] = ["root", "c1", "w1", "r1", "o1", None]
    users = {
        p: (AnonymousUser() if p is None else type(admin_user).objects.get(username=p))
        for p in personas
    }
    for persona, actions in itertools.product(personas, action_sets):
        access = _access(client, *(f"repository:{p}:{actions}" for p in paths), username=persona)
        for path in paths:
            level, org_exists = repository_level_by_path(user=users[persona], path=path)
            allowed = actions_for_level(level)
            got = set(access[("repository", path)])
            requested = set(actions.split(","))
            assert got <= allowed | ({"pull", "delete"} if persona == "root" else set()), (
                persona,
                path,
                got,
            )
            if "*" not in requested:
                assert got <= requested, (persona, path, got)
            if not org_exists:
                assert "push" not in got, (persona, path)
            if persona != "root" or org_exists:
                expected = allowed if "*" in requested else allowed & requested
                assert got == expected, (persona, path, actions, got)


# -- real clients against the real registry ------------------------------------------------


def write_oci_layout(directory: Path, image: BuiltImage, tag: str) -> Path:
    """An OCI image layout skopeo can copy from (`oci:<dir>:<tag>`)."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for digest, data in {**image.blobs, image.digest: image.manifest}.items():
        (blobs / digest.removeprefix("sha256:")).write_bytes(data)
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": len(image.manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    return directory


class Skopeo:
    """skopeo with an auth file of its own, so no credentials leak in from the machine."""

    def __init__(self, workdir: Path, registry: RegistryProcess) -> None:
        self.workdir = workdir
        self.host = registry.host
        self.env = {**os.environ, "REGISTRY_AUTH_FILE": str(workdir / "auth.json")}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["skopeo", *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def login(self, username: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
        return self.run("login", "--tls-verify=false", "-u", username, "-p", password, self.host)

    def push(self, image: BuiltImage, reference: str) -> subprocess.CompletedProcess[str]:
        layout = write_oci_layout(self.workdir / f"layout-{_uid()}", image, "t")
        return self.run(
            "copy",
            "--dest-tls-verify=false",
            f"oci:{layout}:t",
            f"docker://{self.host}/{reference}",
        )

    def inspect(self, reference: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            "inspect", "--tls-verify=false", *extra, f"docker://{self.host}/{reference}"
        )

    def pull(self, reference: str, *extra: str) -> subprocess.CompletedProcess[str]:
        target = self.workdir / f"pulled-{_uid()}"
        return self.run(
            "copy",
            "--src-tls-verify=false",
            *extra,
            f"docker://{self.host}/{reference}",
            f"dir:{target}",
        )


@pytest.fixture
def skopeo(tmp_path: Path, running_registry: RegistryProcess, worker: object) -> Skopeo:
    return Skopeo(tmp_path, running_registry)


def _indexed(org: Organization, name: str, tag: str, digest: str) -> Tag:
    """Wait until the real event path has indexed `tag`, so no event outlives the test."""
    found = Tag.objects.filter(
        repository__organization=org, repository__name=name, name=tag, manifest__digest=digest
    )
    wait_for(found.exists, timeout=30, what=f"the index to show {org.name}/{name}:{tag}")
    return found.select_related("repository").get()


def test_skopeo_login_succeeds_and_bad_password_is_invalid_credentials(
    skopeo: Skopeo, owner: User
) -> None:
    good = skopeo.login("owner")
    assert good.returncode == 0, good.stderr
    assert "Login Succeeded" in good.stdout
    bad = skopeo.login("owner", "not-the-password")
    assert bad.returncode != 0
    assert "invalid username/password" in bad.stderr


def test_owner_pushes_and_pulls_with_skopeo(
    skopeo: Skopeo,
    owner: User,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    image = build_image(labels={"case": _uid()})
    assert skopeo.login("owner").returncode == 0
    pushed = skopeo.push(image, f"{org.name}/app:v1")
    assert pushed.returncode == 0, pushed.stderr
    assert berth_registry_client.head_manifest(f"{org.name}/app", "v1").digest == image.digest
    # The token's subject is the username: the registry reports it as the event's actor.
    assert _indexed(org, "app", "v1", image.digest).pushed_by == "owner"
    inspected = skopeo.inspect(f"{org.name}/app:v1", "--raw")
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout) == json.loads(image.manifest)
    pulled = skopeo.pull(f"{org.name}/app:v1")
    assert pulled.returncode == 0, pulled.stderr


def test_outsider_can_neither_push_nor_pull_a_private_repository(
    skopeo: Skopeo,
    owner: User,
    outsider: User,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    image = build_image(labels={"case": _uid()})
    push_image(berth_registry_client, f"{org.name}/app", image, "v1")
    _indexed(org, "app", "v1", image.digest)
    assert skopeo.login("outsider").returncode == 0
    pushed = skopeo.push(build_image(labels={"case": _uid()}), f"{org.name}/app:v2")
    assert pushed.returncode != 0
    assert "denied" in pushed.stderr or "unauthorized" in pushed.stderr
    pulled = skopeo.pull(f"{org.name}/app:v1")
    assert pulled.returncode != 0
    assert "denied" in pulled.stderr or "unauthorized" in pulled.stderr
    # Nothing changed in the registry.
    assert berth_registry_client.tags(f"{org.name}/app") == ["v1"]


def test_reader_pulls_but_cannot_push(
    skopeo: Skopeo,
    owner: User,
    make_user: Callable[..., User],
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
) -> None:
    reader = make_user("reader")
    org = make_org(f"tok-{_uid()}", creator=owner)
    OrganizationPermission.objects.create(organization=org, user=reader, level=Level.READ)
    image = build_image(labels={"c": _uid()})
    push_image(berth_registry_client, f"{org.name}/app", image, "v1")
    _indexed(org, "app", "v1", image.digest)
    assert skopeo.login("reader").returncode == 0
    assert skopeo.pull(f"{org.name}/app:v1").returncode == 0
    pushed = skopeo.push(build_image(labels={"case": _uid()}), f"{org.name}/app:v2")
    assert pushed.returncode != 0
    assert sorted(berth_registry_client.tags(f"{org.name}/app")) == ["v1"]


def test_anonymous_pulls_a_public_repository_only(
    skopeo: Skopeo,
    owner: User,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
) -> None:
    org = make_org(f"tok-{_uid()}", creator=owner)
    for name in ("open", "closed"):
        image = build_image(labels={"c": _uid()})
        push_image(berth_registry_client, f"{org.name}/{name}", image, "v1")
        _indexed(org, name, "v1", image.digest)
    # Repositories start private; the owner makes one public.
    Repository.objects.filter(organization=org, name="open").update(is_public=True)
    opened = skopeo.pull(f"{org.name}/open:v1", "--src-no-creds")
    assert opened.returncode == 0, opened.stderr
    closed = skopeo.pull(f"{org.name}/closed:v1", "--src-no-creds")
    assert closed.returncode != 0
    layout = write_oci_layout(skopeo.workdir / "anon", build_image(labels={"c": _uid()}), "t")
    pushed = skopeo.run(
        "copy",
        "--dest-tls-verify=false",
        "--dest-no-creds",
        f"oci:{layout}:t",
        f"docker://{skopeo.host}/{org.name}/open:v2",
    )
    assert pushed.returncode != 0
    assert berth_registry_client.tags(f"{org.name}/open") == ["v1"]


def test_push_into_a_missing_organization_is_refused_by_the_registry(
    skopeo: Skopeo, admin_user: User, berth_registry_client: RegistryClient
) -> None:
    missing = f"nope-{_uid()}"
    assert skopeo.login("root").returncode == 0
    pushed = skopeo.push(build_image(labels={"c": _uid()}), f"{missing}/app:v1")
    assert pushed.returncode != 0
    assert f"{missing}/app" not in set(berth_registry_client.catalog())


def test_user_client_deletes_only_with_manage(
    user_registry_client: Callable[..., RegistryClient],
    owner: User,
    make_user: Callable[..., User],
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
    worker: object,
) -> None:
    writer = make_user("writer")
    org = make_org(f"tok-{_uid()}", creator=owner)
    OrganizationPermission.objects.create(organization=org, user=writer, level=Level.WRITE)
    image = build_image(labels={"c": _uid()})
    digest = push_image(user_registry_client("writer"), f"{org.name}/app", image, "v1")
    _indexed(org, "app", "v1", digest)

    with pytest.raises(RegistryAuthError):
        user_registry_client("writer").delete_manifest(f"{org.name}/app", digest)
    user_registry_client("owner").delete_manifest(f"{org.name}/app", digest)

    assert berth_registry_client.tags(f"{org.name}/app") == []
    gone = Tag.objects.filter(repository__organization=org, name="v1")
    wait_for(lambda: not gone.exists(), timeout=30, what="the index to drop the deleted tag")
