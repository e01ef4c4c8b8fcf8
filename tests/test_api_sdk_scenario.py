"""A whole day of SWR scripting with the official SDK (`huaweicloudsdkswr`) against a live Berth,
a real registry, a real worker, a second registry to sync to and a webhook listener: every call
succeeds and reads back what was set.

An organization and its permissions, a repository, a temporary login command that skopeo pushes
with, the tag list, a share, a retention policy and its history, a trigger that fires, a sync
rule and a manual sync, quotas and the overview.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from huaweicloudsdkswr.v2.model import (
    CreateImageSyncRepoRequest,
    CreateImageSyncRepoRequestBody,
    CreateManualImageSyncRepoRequest,
    CreateManualImageSyncRepoRequestBody,
    CreateNamespaceAuthRequest,
    CreateNamespaceRequest,
    CreateNamespaceRequestBody,
    CreateRepoDomainsRequest,
    CreateRepoDomainsRequestBody,
    CreateRepoRequest,
    CreateRepoRequestBody,
    CreateRetentionRequest,
    CreateRetentionRequestBody,
    CreateSecretRequest,
    CreateTriggerRequest,
    CreateTriggerRequestBody,
    ListImageAutoSyncReposDetailsRequest,
    ListNamespacesRequest,
    ListQuotasRequest,
    ListRepoDomainsRequest,
    ListRepositoryTagsRequest,
    ListRetentionHistoriesRequest,
    ListSyncRegionsRequest,
    ListTriggersDetailsRequest,
    Rule,
    ShowDomainOverviewRequest,
    ShowNamespaceAuthRequest,
    ShowRepositoryRequest,
    ShowRetentionRequest,
    ShowSyncJobRequest,
    UserAuth,
)

from dashboard.models import Job
from dashboard.registry.images import build_image
from dashboard.services.sync import remote_registry_create
from tests.servers import RegistryProcess, wait_for
from tests.swr_api import sdk_client
from tests.sync_targets import Target, basic_target
from tests.test_token_realm import Skopeo
from tests.test_triggers import Listener

pytestmark = pytest.mark.registry

__all__ = ["basic_target"]


@pytest.fixture
def skopeo(tmp_path: Path, running_registry: RegistryProcess, worker: object) -> Skopeo:
    return Skopeo(tmp_path, running_registry)


@pytest.fixture
def hook() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def _tags(sdk: Any, namespace: str, repository: str) -> list[str]:
    listed = sdk.list_repository_tags(
        ListRepositoryTagsRequest(namespace=namespace, repository=repository)
    )
    return sorted(tag.tag for tag in listed.body)


def _has_tag(sdk: Any, namespace: str, tag: str) -> Callable[[], bool]:
    return lambda: tag in _tags(sdk, namespace, "tools$app")


def test_a_script_written_for_swr_runs_against_berth(  # type: ignore[no-untyped-def]
    live_server,
    skopeo: Skopeo,
    basic_target: Target,
    hook: Listener,
    make_user,
    admin_user,
) -> None:
    alice: User = make_user("alice")
    bob: User = make_user("bob")
    team = Group.objects.create(name="qa")
    sdk = sdk_client(live_server.url, alice)
    ns = f"sdk-{uuid.uuid4().hex[:6]}"

    # An organization, and Write for bob.
    sdk.create_namespace(CreateNamespaceRequest(body=CreateNamespaceRequestBody(namespace=ns)))
    listed = sdk.list_namespaces(ListNamespacesRequest()).namespaces
    assert [(n.name, n.auth, n.creator_name) for n in listed] == [(ns, 7, "alice")]
    sdk.create_namespace_auth(
        CreateNamespaceAuthRequest(
            namespace=ns, body=[UserAuth(user_id=str(bob.pk), user_name="bob", auth=3)]
        )
    )
    grants = sdk.show_namespace_auth(ShowNamespaceAuthRequest(namespace=ns))
    assert grants.self_auth.auth == 7
    assert [(g.user_name, g.auth) for g in grants.others_auths] == [("bob", 3)]

    # A private repository, created empty.
    sdk.create_repo(
        CreateRepoRequest(
            namespace=ns,
            body=CreateRepoRequestBody(
                repository="tools/app", is_public=False, category="linux", description="ours"
            ),
        )
    )
    shown = sdk.show_repository(ShowRepositoryRequest(namespace=ns, repository="tools$app"))
    assert (shown.name, shown.is_public, shown.category, shown.description) == (
        "tools/app",
        False,
        "linux",
        "ours",
    )

    # A temporary login command, and skopeo pushes two tags with it.
    secret = sdk.create_secret(CreateSecretRequest())
    [host] = secret.auths
    username, password = base64.b64decode(secret.auths[host].auth).decode().split(":", 1)
    assert secret.x_swr_dockerlogin.split()[3] == username
    assert skopeo.login(username, password).returncode == 0
    for tag in ("v1", "v2"):
        image = build_image(labels={"tag": tag, "run": ns})
        pushed = skopeo.push(image, f"{ns}/tools/app:{tag}")
        assert pushed.returncode == 0, pushed.stderr
        wait_for(_has_tag(sdk, ns, tag), what=f"{tag} in the tag list")

    # Share with a team until further notice.
    sdk.create_repo_domains(
        CreateRepoDomainsRequest(
            namespace=ns,
            repository="tools$app",
            body=CreateRepoDomainsRequestBody(
                access_domain="qa", permit="read", deadline="forever", description="for QA"
            ),
        )
    )
    shares = sdk.list_repo_domains(ListRepoDomainsRequest(namespace=ns, repository="tools$app"))
    assert [(s.access_domain, s.permit, s.deadline, s.status) for s in shares.body] == [
        (team.name, "read", "forever", True)
    ]

    # A trigger whose webhook is the listener (SWR's `application` carries the URL).
    sdk.create_trigger(
        CreateTriggerRequest(
            namespace=ns,
            repository="tools$app",
            body=CreateTriggerRequestBody(
                name="deploy",
                action="update",
                app_type="deployments",
                application=hook.url,
                cluster_ns="default",
                trigger_type="tag",
                condition="v3",
                enable="true",
            ),
        )
    )
    [trigger] = sdk.list_triggers_details(
        ListTriggersDetailsRequest(namespace=ns, repository="tools$app")
    ).body
    assert (trigger.name, trigger.condition, trigger.enable) == ("deploy", "v3", "true")
    pushed = skopeo.push(build_image(labels={"tag": "v3", "run": ns}), f"{ns}/tools/app:v3")
    assert pushed.returncode == 0, pushed.stderr
    wait_for(lambda: hook.received, timeout=30, what="the trigger's webhook")
    assert hook.received[0].json["tag"] == "v3"

    # Sync v2 to the second registry: a rule, then a manual sync; the job succeeds.
    remote_registry_create(
        name="mirror",
        url=basic_target.url,
        username=basic_target.username,
        password=basic_target.password,
        verify_tls=False,
        description="",
        actor=admin_user,
    )
    regions = sdk.list_sync_regions(ListSyncRegionsRequest()).body
    assert [r.region_id for r in regions] == ["mirror"]
    sdk.create_image_sync_repo(
        CreateImageSyncRepoRequest(
            namespace=ns,
            repository="tools$app",
            body=CreateImageSyncRepoRequestBody(
                remote_region_id="mirror", remote_namespace=ns, sync_auto=False, override=False
            ),
        )
    )
    rules = sdk.list_image_auto_sync_repos_details(
        ListImageAutoSyncReposDetailsRequest(namespace=ns, repository="tools$app")
    ).body
    assert [(r.remote_region_id, r.remote_namespace, r.sync_auto) for r in rules] == [
        ("mirror", ns, False)
    ]
    failed = sdk.create_manual_image_sync_repo(
        CreateManualImageSyncRepoRequest(
            namespace=ns,
            repository="tools$app",
            body=CreateManualImageSyncRepoRequestBody(
                image_tag=["v2"], remote_region_id="mirror", remote_namespace=ns, override=False
            ),
        )
    )
    assert not failed.body
    wait_for(
        lambda: (
            not Job.objects.filter(kind=Job.Kind.SYNC).exclude(status__in=Job.FINISHED).exists()
        ),
        timeout=60,
        what="the sync job",
    )
    jobs = sdk.show_sync_job(
        ShowSyncJobRequest(namespace=ns, repository="tools$app", filter="limit::10|offset::0")
    ).body
    assert [(j.tag, j.status) for j in jobs] == [("v2", "success")]
    copied = basic_target.client().head_manifest(f"{ns}/tools/app", "v2")
    assert copied is not None and copied.digest

    # Keep the newest tag only; its run deletes v1 and v2, and the history says so.
    created = sdk.create_retention(
        CreateRetentionRequest(
            namespace=ns,
            repository="tools$app",
            body=CreateRetentionRequestBody(
                algorithm="or",
                rules=[Rule(template="tag_rule", params={"num": "1"}, tag_selectors=[])],
            ),
        )
    )
    policy = sdk.show_retention(
        ShowRetentionRequest(namespace=ns, repository="tools$app", retention_id=created.id)
    )
    assert policy.rules[0].params == {"num": "1"}
    wait_for(lambda: _tags(sdk, ns, "tools$app") == ["v3"], timeout=60, what="retention's run")
    history = sdk.list_retention_histories(
        ListRetentionHistoriesRequest(namespace=ns, repository="tools$app", limit="10", offset="0")
    )
    assert sorted(log.tag for log in history.retention_log) == ["v1", "v2"]

    # Quotas and the overview count what this script made.
    quotas = sdk.list_quotas(ListQuotasRequest()).quotas
    assert [(q.quota_key, q.used) for q in quotas] == [("namespace", 1)]
    overview = sdk.show_domain_overview(ShowDomainOverviewRequest())
    assert (overview.namspace_num, overview.repo_num) == (1, 1)
