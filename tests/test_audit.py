"""The audit log: each audited action leaves one trace with actor, source IP and result."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dashboard.models import AuditEvent, Level, Organization, Repository
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from dashboard.services import credentials, permissions, repositories, teams
from dashboard.services.audit import audit_context, audit_prune, audit_record
from dashboard.services.errors import ServiceError
from dashboard.services.organizations import organization_delete
from dashboard.tasks import prune_audit
from tests.conftest import PASSWORD
from tests.servers import wait_for

pytestmark = pytest.mark.django_db


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _one(action: str, **fields: Any) -> AuditEvent:
    return AuditEvent.objects.get(action=action, **fields)


def _basic(username: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_organization_created_through_the_page_is_traced_with_actor_and_ip(
    client: Client, owner: User
) -> None:
    client.force_login(owner)
    name = f"au{_uid()}"
    client.post("/orgs/", {"name": name}, REMOTE_ADDR="203.0.113.7")

    event = _one("createUserNamespace", resource_name=name)
    assert (event.actor, event.actor_name) == (owner, "owner")
    assert event.source_ip == "203.0.113.7"
    assert (event.resource_type, event.organization, event.result) == (
        "usernamespace",
        name,
        "success",
    )


def test_refused_change_leaves_no_trace(owner: User, outsider: User, make_org: Callable) -> None:
    org = make_org(f"au{_uid()}", owner)
    with pytest.raises(ServiceError):
        organization_delete(organization=org, actor=outsider)
    assert not AuditEvent.objects.filter(action="deleteUserNamespace").exists()
    organization_delete(organization=org, actor=owner)
    assert _one("deleteUserNamespace", resource_name=org.name).actor == owner


def test_grants_changes_and_revokes_are_traced(
    owner: User, reader: User, make_org: Callable
) -> None:
    org = make_org(f"au{_uid()}", owner)
    repo = Repository.objects.create(organization=org, name="app")
    with audit_context(actor=owner, source_ip="198.51.100.2"):
        permissions.organization_grant(organization=org, actor=owner, user=reader, level=1)
        permissions.organization_grant_update(organization=org, actor=owner, user=reader, level=3)
        permissions.organization_revoke(organization=org, actor=owner, user=reader)
        permissions.repository_grant(repository=repo, actor=owner, user=reader, level=7)
        permissions.repository_grant_update(repository=repo, actor=owner, user=reader, level=1)
        permissions.repository_revoke(repository=repo, actor=owner, user=reader)
        repositories.repository_update(
            repository=repo, actor=owner, is_public=True, category="other", description=""
        )

    traces = list(AuditEvent.objects.filter(organization=org.name).order_by("id"))
    assert [(t.action, t.detail.get("level")) for t in traces] == [
        ("createUserNamespaceAuth", "Read"),
        ("updateUserNamespaceAuth", "Write"),
        ("deleteUserNamespaceAuth", None),
        ("createUserRepositoryAuth", "Manage"),
        ("updateUserRepositoryAuth", "Read"),
        ("deleteUserRepositoryAuth", None),
        ("updateImageRepository", None),
    ]
    assert all(t.source_ip == "198.51.100.2" and t.actor == owner for t in traces)
    assert traces[0].detail["user"] == "reader"
    assert traces[3].resource_name == f"{org.name}/app"


def test_team_changes_are_traced(admin_user: User, reader: User) -> None:
    name = f"t{_uid()}"
    team = teams.team_create(name=name, actor=admin_user)
    teams.team_member_add(team=team, user=reader, actor=admin_user)
    teams.team_manager_add(team=team, user=reader, actor=admin_user)
    teams.team_manager_remove(team=team, user=reader, actor=admin_user)
    teams.team_member_remove(team=team, user=reader, actor=admin_user)
    teams.team_delete(team=team, actor=admin_user)
    assert list(
        AuditEvent.objects.filter(resource_name=name)
        .order_by("id")
        .values_list("action", flat=True)
    ) == [
        "createTeam",
        "addTeamMember",
        "addTeamManager",
        "removeTeamManager",
        "removeTeamMember",
        "deleteTeam",
    ]


def test_credentials_are_traced_without_their_secrets(owner: User) -> None:
    secret, username, password = credentials.login_secret_create(user=owner)
    credentials.login_secret_revoke(secret=secret)
    key, secret_key = credentials.access_key_create(user=owner)
    credentials.access_key_set_active(key=key, active=False)
    credentials.access_key_delete(key=key)
    token, token_text = credentials.api_token_create(user=owner, name="ci")
    credentials.api_token_revoke(token=token)

    traces = list(AuditEvent.objects.filter(actor=owner).order_by("id"))
    assert [t.action for t in traces] == [
        "createDockerConfig",
        "deleteDockerConfig",
        "createAccessKey",
        "updateAccessKey",
        "deleteAccessKey",
        "createApiToken",
        "deleteApiToken",
    ]
    assert traces[0].resource_name == username
    stored = repr([(t.resource_name, t.detail) for t in traces])
    for secret_text in (password, secret_key, token_text):
        assert secret_text not in stored


def test_sign_in_success_and_failure_are_traced(client: Client, owner: User) -> None:
    client.post(
        "/accounts/login/", {"username": "owner", "password": "wrong"}, REMOTE_ADDR="192.0.2.9"
    )
    client.post(
        "/accounts/login/", {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="192.0.2.9"
    )
    failed = _one("login", result="failure")
    assert (failed.actor, failed.actor_name, failed.source_ip) == (None, "owner", "192.0.2.9")
    succeeded = _one("login", result="success")
    assert (succeeded.actor, succeeded.source_ip) == (owner, "192.0.2.9")


def test_token_request_records_granted_and_denied_actions(
    client: Client, owner: User, reader: User, make_org: Callable
) -> None:
    org = make_org(f"au{_uid()}", owner)
    permissions.organization_grant(organization=org, actor=owner, user=reader, level=Level.READ)
    repo = Repository.objects.create(organization=org, name="app")
    AuditEvent.objects.all().delete()

    client.get(
        "/service/token",
        {"service": "berth-registry", "scope": f"repository:{org.name}/app:pull,push"},
        HTTP_AUTHORIZATION=_basic("reader"),
        REMOTE_ADDR="192.0.2.20",
    )
    token = _one("createRegistryToken")
    assert (token.actor, token.source_ip, token.resource_type) == (reader, "192.0.2.20", "token")
    assert (token.organization, token.result) == (org.name, "failure")
    assert token.detail["scopes"] == [
        {
            "scope": f"repository:{org.name}/app",
            "requested": ["pull", "push"],
            "granted": ["pull"],
            "denied": ["push"],
        }
    ]
    # A refused push is not a download.
    assert not AuditEvent.objects.filter(action="downloadImage").exists()

    client.get(
        "/service/token",
        {"service": "berth-registry", "scope": f"repository:{org.name}/app:pull"},
        HTTP_AUTHORIZATION=_basic("reader"),
    )
    pull = _one("downloadImage")
    assert (pull.actor, pull.resource_name, pull.organization) == (
        reader,
        f"{org.name}/app",
        org.name,
    )
    # Pulls feed the download count; a refused push did not.
    assert Repository.objects.get(pk=repo.pk).num_download == 1


def test_anonymous_token_request_is_traced_as_anonymous(client: Client) -> None:
    client.get("/service/token", {"service": "berth-registry"}, REMOTE_ADDR="192.0.2.30")
    event = _one("createRegistryToken")
    assert (event.actor, event.actor_name, event.result) == (None, "anonymous", "success")
    assert event.source_ip == "192.0.2.30"


def test_token_request_with_a_wrong_password_is_a_failure(client: Client, owner: User) -> None:
    response = client.get("/service/token", HTTP_AUTHORIZATION=_basic("owner", "nope"))
    assert response.status_code == 401
    event = _one("createRegistryToken")
    assert (event.actor, event.actor_name, event.result) == (None, "owner", "failure")
    # The realm traces its own refusals: no second `login` trace for the same attempt.
    assert not AuditEvent.objects.filter(action="login").exists()


def test_retention_prunes_only_old_traces(settings: Any) -> None:
    settings.AUDIT_RETENTION_DAYS = 10
    old = audit_record(action="login", resource_type="user", actor_name="x")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=11))
    recent = audit_record(action="login", resource_type="user", actor_name="y")
    assert prune_audit() == 1
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert audit_prune(older_than=dt.timedelta(days=0)) == 1


# -- registry notifications through the worker ---------------------------------------------


def test_user_push_is_traced_as_upload_manifest_and_berths_own_is_not(
    worker: object,
    make_user: Callable[..., User],
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
    user_registry_client: Callable[[str], RegistryClient],
) -> None:
    pusher = make_user(f"p{_uid()}")
    org = make_org(f"au{_uid()}", pusher)
    digest = push_image(user_registry_client(pusher.username), f"{org.name}/app", build_image())
    push_image(berth_registry_client, f"{org.name}/app", build_image(), "v1")
    push_image(user_registry_client(pusher.username), f"{org.name}/app", build_image(), "v2")

    wait_for(
        lambda: (
            AuditEvent.objects.filter(action="uploadManifest", organization=org.name).count() >= 2
        ),
        timeout=30,
        what="the user's two pushes in the audit log",
    )
    uploads = AuditEvent.objects.filter(action="uploadManifest", organization=org.name)
    assert {u.resource_name for u in uploads} == {f"{org.name}/app@{digest}", f"{org.name}/app:v2"}
    assert all(u.actor == pusher and u.source_ip for u in uploads)
    wait_for(
        lambda: Repository.objects.filter(organization=org, name="app", tag_count=2).exists(),
        timeout=30,
        what="Berth's push indexed too",
    )
    assert not AuditEvent.objects.filter(action="uploadManifest", actor_name="berth").exists()


def test_refused_change_on_a_page_is_traced_as_a_failure(
    client: Client, owner: User, reader: User, make_org: Callable
) -> None:
    org = make_org(f"au{_uid()}", owner)
    permissions.organization_grant(organization=org, actor=owner, user=reader, level=Level.READ)
    client.force_login(reader)
    response = client.post(f"/orgs/{org.name}/delete/", REMOTE_ADDR="192.0.2.44")
    assert response.status_code == 403
    refused = _one("organization-delete")
    assert (refused.actor, refused.source_ip, refused.result) == (reader, "192.0.2.44", "failure")
    assert (refused.organization, refused.resource_name) == (org.name, org.name)
    assert refused.detail["status"] == 403 and refused.detail["code"].startswith("SVCSTG.SWR.")
    assert Organization.objects.filter(pk=org.pk).exists()
    assert not AuditEvent.objects.filter(action="deleteUserNamespace").exists()
