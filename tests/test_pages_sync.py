"""The Sync tab and the remote registry pages: who sees what, every refusal, the forms."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import AuditEvent, Job, Level, RemoteRegistry, SyncJob, SyncRule
from dashboard.services.sealed import unseal
from dashboard.services.sync import SEAL_PURPOSE, remote_registry_create
from tests.index_rows import grant_org, make_repository, make_tag
from tests.pages import HTMX, toasts
from tests.sync_targets import basic_target

__all__ = ["basic_target"]

SECRET = "s3cret-Pa55word"
TAB = "/repos/sync-org/app/-/sync/"


@pytest.fixture
def repo(owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("sync-org", creator=owner)
    grant_org(organization, reader, Level.READ)
    repository = make_repository(organization, "app")
    make_tag(repository, "v1")
    make_tag(repository, "v2")
    return repository


@pytest.fixture
def remote(admin_user) -> RemoteRegistry:  # type: ignore[no-untyped-def]
    return remote_registry_create(
        name="eu-west-2",
        url="https://registry.example.com",
        username="robot",
        password=SECRET,
        actor=admin_user,
    )


@pytest.fixture
def rule(repo, remote, owner) -> SyncRule:  # type: ignore[no-untyped-def]
    return SyncRule.objects.create(
        repository=repo, remote=remote, remote_namespace="mirror", created_by=owner
    )


def _error(response: Any) -> str:
    return response.content.decode()


# -- the Sync tab --------------------------------------------------------------------------------


def test_the_sync_tab_hides_from_outsiders_and_shows_readers_no_forms(
    client, repo, rule, owner, reader, outsider
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(outsider)
    assert client.get(TAB).status_code == 404
    client.force_login(reader)
    page = client.get(TAB)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-tab="sync"' in body and 'data-rule="eu-west-2/mirror"' in body
    for form in ('id="sync-rule-create"', 'id="sync-images"', "/delete/"):
        assert form not in body
    client.force_login(owner)
    body = client.get(TAB).content.decode()
    assert 'id="sync-rule-create"' in body and 'id="sync-images"' in body
    assert 'value="v1"' in body and 'value="v2"' in body
    assert SECRET not in body


def test_every_sync_post_is_refused_to_outsiders_404_and_readers_403(
    client, repo, rule, remote, reader, outsider
) -> None:  # type: ignore[no-untyped-def]
    posts = {
        f"{TAB}rules/": {"remote": remote.name, "remote_namespace": "other"},
        f"{TAB}rules/{rule.pk}/delete/": {},
        f"{TAB}run/": {"remote": remote.name, "remote_namespace": "mirror", "tags": ["v1"]},
    }
    for user, status in ((outsider, 404), (reader, 403)):
        client.force_login(user)
        for url, data in posts.items():
            assert client.post(url, data).status_code == status, (user, url)
            refused = client.post(url, data, **HTMX)
            assert refused.status_code == status, (user, url)
            if status == 403:
                assert toasts(refused)[0]["code"] == "SVCSTG.SWR.4037018"
    assert SyncRule.objects.filter(repository=repo).count() == 1
    assert not SyncJob.objects.exists() and not Job.objects.exists()


def test_a_batch_card_is_read_by_readers_and_hidden_from_others(
    client, repo, make_org, owner, reader, outsider
) -> None:  # type: ignore[no-untyped-def]
    job = Job.objects.create(kind=Job.Kind.SYNC, repository=repo, created_by=owner)
    other = make_repository(make_org("elsewhere", creator=owner), "app")
    foreign = Job.objects.create(kind=Job.Kind.SYNC, repository=other, created_by=owner)
    client.force_login(outsider)
    assert client.get(f"{TAB}jobs/{job.pk}/").status_code == 404
    client.force_login(reader)
    card = client.get(f"{TAB}jobs/{job.pk}/", **HTMX)
    assert card.status_code == 200 and f'id="sync-batch-{job.pk}"' in card.content.decode()
    assert "data-job-cancel" not in card.content.decode()
    assert client.get(f"{TAB}jobs/{foreign.pk}/").status_code == 404


def test_a_manager_adds_and_deletes_a_rule_with_swr_errors_shown(
    client, repo, remote, owner
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    data = {"remote": remote.name, "remote_namespace": "mirror", "sync_auto": "on"}
    added = client.post(f"{TAB}rules/", data, **HTMX)
    assert added.status_code == 200
    assert 'data-rule="eu-west-2/mirror"' in added.content.decode()
    assert "new pushes are copied automatically" in toasts(added)[0]["message"]
    rule = SyncRule.objects.get(repository=repo)
    assert (rule.sync_auto, rule.override) == (True, False)
    assert AuditEvent.objects.filter(action="createSyncRepo", resource_name="sync-org/app").exists()

    again = client.post(f"{TAB}rules/", data, **HTMX)
    assert again.status_code == 409 and toasts(again)[0]["code"] == "SVCSTG.SWR.4090089"
    boxed = client.post(
        f"{TAB}rules/",
        {"remote": remote.name, "remote_namespace": "Bad_Org"},
        HTTP_X_BERTH_ERROR_TARGET="#sync-error",
        **HTMX,
    )
    assert boxed.status_code == 400 and boxed["HX-Retarget"] == "#sync-error"
    assert "SVCSTG.SWR.4001028" in _error(boxed)
    unknown = client.post(f"{TAB}rules/", {"remote": "nowhere", "remote_namespace": "x"}, **HTMX)
    assert unknown.status_code == 404 and toasts(unknown)[0]["code"] == "SVCSTG.SWR.4040083"

    deleted = client.post(f"{TAB}rules/{rule.pk}/delete/", **HTMX)
    assert deleted.status_code == 200 and 'id="no-sync-rules"' in deleted.content.decode()
    assert AuditEvent.objects.filter(action="deleteSyncRepo").exists()
    assert client.post(f"{TAB}rules/{rule.pk}/delete/", **HTMX).status_code == 404


def test_a_manual_sync_answers_its_batch_card_and_names_unknown_tags(
    client, repo, remote, owner
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    answer = client.post(
        f"{TAB}run/",
        {
            "remote": remote.name,
            "remote_namespace": "mirror",
            "tags": ["v1"],
            "more_tags": "v2, nope",
            "override": "on",
        },
        **HTMX,
    )
    assert answer.status_code == 200
    job = Job.objects.get(kind=Job.Kind.SYNC, repository=repo)
    card = answer.content.decode()
    assert f'hx-get="{TAB}jobs/{job.pk}/"' in card and 'hx-trigger="every 1s"' in card
    assert "data-job-cancel" in card
    messages = {t["level"]: t["message"] for t in toasts(answer)}
    assert "nope" in messages["warning"] and "Copying 2 tag(s)" in messages["success"]
    records = SyncJob.objects.filter(job=job).order_by("pk")
    assert [(r.tag, r.status, r.override) for r in records] == [
        ("v1", "waiting", True),
        ("v2", "waiting", True),
    ]
    trace = AuditEvent.objects.get(action="syncImages")
    assert trace.detail["imageTag"] == ["v1", "v2"] and trace.detail["failed"] == ["nope"]

    # While it runs the card keeps polling; once it has ended: 286 and the records table.
    assert client.get(f"{TAB}jobs/{job.pk}/", **HTMX).status_code == 200
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED)
    SyncJob.objects.filter(job=job).update(status=SyncJob.Status.SUCCESS)
    done = client.get(f"{TAB}jobs/{job.pk}/", **HTMX)
    assert done.status_code == 286
    body = done.content.decode()
    assert 'id="sync-records" hx-swap-oob="true"' in body and 'data-status="success"' in body

    nothing = client.post(
        f"{TAB}run/", {"remote": remote.name, "remote_namespace": "mirror", "tags": ["x"]}, **HTMX
    )
    assert nothing.status_code == 200 and nothing["HX-Reswap"] == "none"
    assert Job.objects.filter(kind=Job.Kind.SYNC).count() == 1


def test_the_records_table_filters_by_status_in_constant_queries(
    client, repo, remote, owner
) -> None:  # type: ignore[no-untyped-def]
    def add(count: int, status: str) -> None:
        SyncJob.objects.bulk_create(
            SyncJob(
                repository=repo,
                namespace="sync-org",
                repo_name="app",
                tag=f"t{uuid.uuid4().hex[:6]}",
                remote=remote,
                remote_region_id=remote.name,
                remote_namespace="mirror",
                status=status,
                error_code="UNAUTHORIZED" if status == "failed" else "",
                error_message="authentication required" if status == "failed" else "",
            )
            for _ in range(count)
        )

    client.force_login(owner)
    add(1, "failed")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(TAB).status_code == 200
        return len(queries)

    few = count()
    add(24, "success")
    assert count() == few
    failed = client.get(f"{TAB}?status=failed", **HTMX).content.decode()
    assert failed.count("data-sync-record=") == 1 and "authentication required" in failed
    assert client.get(TAB).content.decode().count("data-sync-record=") == 25


# -- remote registries -----------------------------------------------------------------------------


REGISTRY_URLS = ("/registries/", "/registries/{pk}/")
REGISTRY_POSTS = (
    "/registries/",
    "/registries/{pk}/",
    "/registries/{pk}/test/",
    "/registries/{pk}/delete/",
)


def test_remote_registry_pages_do_not_exist_for_non_superusers(
    client, repo, remote, owner, reader, outsider
) -> None:  # type: ignore[no-untyped-def]
    for user in (owner, reader, outsider):
        client.force_login(user)
        assert 'id="nav-registries"' not in client.get("/").content.decode()
        for url in REGISTRY_URLS:
            assert client.get(url.format(pk=remote.pk)).status_code == 404
        for url in REGISTRY_POSTS:
            data = {"name": "x", "url": "https://x.example", "password": "p"}
            assert client.post(url.format(pk=remote.pk), data).status_code == 404
            assert client.post(url.format(pk=remote.pk), data, **HTMX).status_code == 404
    assert list(RemoteRegistry.objects.values_list("name", flat=True)) == ["eu-west-2"]
    client.logout()
    assert client.get("/registries/").status_code == 302  # to sign-in


def test_an_administrator_adds_edits_and_deletes_a_remote_registry(
    client, admin_user, repo
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    assert 'id="nav-registries"' in client.get("/").content.decode()
    data = {
        "name": "ap-south-1",
        "url": "https://mirror.example.com/",
        "username": "robot",
        "password": SECRET,
        "verify_tls": "on",
        "description": "DR copy",
    }
    added = client.post("/registries/", data, **HTMX)
    assert added.status_code == 200
    body = added.content.decode()
    assert 'data-remote="ap-south-1"' in body and "https://mirror.example.com<" in body
    assert SECRET not in body
    remote = RemoteRegistry.objects.get(name="ap-south-1")
    assert SECRET not in remote.password_encrypted
    assert unseal(remote.password_encrypted, purpose=SEAL_PURPOSE) == SECRET
    assert remote.verify_tls and remote.created_by == admin_user

    for bad, code, status in (
        ({**data, "name": "Bad Name"}, "SVCSTG.SWR.4000014", 400),
        ({**data, "url": "ftp://x"}, "SVCSTG.SWR.4000014", 400),
        ({**data, "url": "https://x.example/v2/"}, "SVCSTG.SWR.4000014", 400),
        ({**data, "name": "eu-1", "description": "x" * 1001}, "SVCSTG.SWR.4131012", 413),
        (data, "SVCSTG.SWR.4090089", 409),
    ):
        refused = client.post("/registries/", bad, **HTMX)
        assert (refused.status_code, toasts(refused)[0]["code"]) == (status, code), bad
    assert RemoteRegistry.objects.count() == 1

    edit = client.get(f"/registries/{remote.pk}/")
    assert edit.status_code == 200
    page = edit.content.decode()
    assert SECRET not in page and remote.password_encrypted not in page
    assert 'value="robot"' in page
    saved = client.post(
        f"/registries/{remote.pk}/",
        {**data, "name": "renamed", "password": "", "verify_tls": ""},
        **HTMX,
    )
    assert saved.status_code == 200 and saved["HX-Redirect"] == "/registries/"
    remote.refresh_from_db()
    assert remote.name == "ap-south-1" and remote.verify_tls is False
    assert unseal(remote.password_encrypted, purpose=SEAL_PURPOSE) == SECRET  # kept
    client.post(f"/registries/{remote.pk}/", {**data, "password": "another-1"}, **HTMX)
    remote.refresh_from_db()
    assert unseal(remote.password_encrypted, purpose=SEAL_PURPOSE) == "another-1"

    SyncRule.objects.create(repository=repo, remote=remote, remote_namespace="mirror")
    gone = client.post(f"/registries/{remote.pk}/delete/", **HTMX)
    assert gone.status_code == 200 and 'id="no-registries"' in gone.content.decode()
    assert "with 1 sync rule(s)" in toasts(gone)[-1]["message"]
    assert not SyncRule.objects.exists()
    actions = list(
        AuditEvent.objects.filter(resource_type="region")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "createRemoteRegistry",
        "updateRemoteRegistry",
        "updateRemoteRegistry",
        "deleteRemoteRegistry",
    ]
    everything = " ".join(
        str(detail) for detail in AuditEvent.objects.values_list("detail", flat=True)
    )
    assert SECRET not in everything and "another-1" not in everything


@pytest.mark.registry
def test_test_connection_keeps_what_the_remote_said(client, admin_user, basic_target) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    good = remote_registry_create(
        name="good",
        url=basic_target.url,
        username=basic_target.username,
        password=basic_target.password,
        actor=admin_user,
    )
    bad = remote_registry_create(
        name="bad",
        url=basic_target.url,
        username=basic_target.username,
        password="wrong",
        actor=admin_user,
    )
    ok = client.post(f"/registries/{good.pk}/test/", **HTMX)
    assert ok.status_code == 200 and toasts(ok)[0]["level"] == "success"
    assert 'data-check="ok"' in ok.content.decode()
    failed = client.post(f"/registries/{bad.pk}/test/", **HTMX)
    assert toasts(failed)[0]["level"] == "danger"
    bad.refresh_from_db()
    assert bad.check_ok is False and bad.checked_at is not None
    assert "authentication required" in bad.check_message
    assert "authentication required" in failed.content.decode()
    good.refresh_from_db()
    assert good.check_ok is True and "Basic sign-in as mirror" in good.check_message
