"""The tag and manifest pages, and deleting tags and images from the repository page.

Most tests write index rows directly; those marked `registry` push real images through the
real registry, let the real worker index them, and check deletions against the registry.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from dashboard.models import Level, Manifest, Organization, Repository, Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, build_index, push_image
from dashboard.services.errors import (
    FORBIDDEN_IMAGE,
    INVALID_PARAMETERS,
    PREFIX,
    REGISTRY_UNAVAILABLE,
    TAG_NOT_FOUND,
)
from tests.index_rows import grant_org, make_index, make_manifest, make_repository, make_tag
from tests.pages import HTMX, toasts
from tests.servers import free_port, wait_for


@pytest.fixture
def app(db, owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("team", creator=owner)
    grant_org(organization, reader, Level.READ)
    repository = make_repository(organization, "app")
    image = make_manifest(
        repository,
        seed="img",
        labels={"maintainer": "berth"},
        env=["PATH=/usr/bin", "GREETING=hello"],
    )
    amd = make_manifest(repository, seed="amd", size=3000)
    arm = make_manifest(repository, seed="arm", size=2000, architecture="arm64", variant="v8")
    make_tag(repository, "1.0", image)
    make_tag(repository, "stable", image)
    make_tag(repository, "multi", make_index(repository, [amd, arm]))
    return repository


# -- reading -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tag_page_shows_manifest_config_layers_history_labels_env(
    client, reader, app, settings
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    response = client.get("/repos/team/app/-/tags/1.0/")
    body = response.content.decode()
    assert response.status_code == 200
    manifest = Tag.objects.get(repository=app, name="1.0").manifest
    assert f'<code id="manifest-digest">{manifest.digest}</code>' in body
    assert 'id="layer-rows"' in body and manifest.layers[0]["digest"][7:19] in body
    assert "/bin/sh -c #(nop) ADD img" in body  # history
    assert "maintainer" in body and "berth" in body  # labels
    assert "GREETING=hello" in body  # environment
    assert "&quot;schemaVersion&quot;: 2" in body  # pretty manifest JSON
    assert 'id="config-json"' in body
    assert 'href="/repos/team/app/-/tags/stable/"' in body  # the sibling tag
    host = settings.REGISTRY_HOST
    for command in (
        f"docker pull {host}/team/app:1.0",
        f"podman pull --tls-verify=false {host}/team/app:1.0",
        f"ctr image pull --plain-http --user reader {host}/team/app:1.0",
        f"nerdctl pull --insecure-registry {host}/team/app:1.0",
        f"docker pull {host}/team/app@{manifest.digest}",
    ):
        assert f'data-copy="{command}"' in body, command
    assert 'id="manifest-delete"' not in body  # a reader deletes nothing


@pytest.mark.django_db
def test_public_image_pull_commands_need_no_user(client, reader, app, settings) -> None:  # type: ignore[no-untyped-def]
    Repository.objects.filter(pk=app.pk).update(is_public=True)
    client.force_login(reader)
    body = client.get("/repos/team/app/-/tags/1.0/").content.decode()
    assert f'data-copy="ctr image pull --plain-http {settings.REGISTRY_HOST}/team/app:1.0"' in body


@pytest.mark.django_db
@override_settings(
    REGISTRY_URL="https://registry.example.com", REGISTRY_HOST="registry.example.com"
)
def test_tls_registry_commands_have_no_insecure_flags(client, reader, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    body = client.get("/repos/team/app/-/tags/1.0/").content.decode()
    assert 'data-copy="podman pull registry.example.com/team/app:1.0"' in body
    assert "--plain-http" not in body and "insecure-registries" not in body


@pytest.mark.django_db
def test_index_tag_lists_platforms_linking_to_their_manifests(client, reader, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    body = client.get("/repos/team/app/-/tags/multi/").content.decode()
    amd = Manifest.objects.get(repository=app, architecture="amd64", size=3000)
    arm = Manifest.objects.get(repository=app, architecture="arm64")
    assert "Multi-arch image (2 platforms)" in body
    assert f'href="/repos/team/app/-/manifests/{amd.digest}/">linux/amd64</a>' in body
    assert f'href="/repos/team/app/-/manifests/{arm.digest}/">linux/arm64/v8</a>' in body
    child = client.get(f"/repos/team/app/-/manifests/{arm.digest}/")
    assert child.status_code == 200
    child_body = child.content.decode()
    assert 'data-field="platform">linux/arm64/v8<' in child_body
    assert f"docker pull {child.context['REGISTRY_HOST']}/team/app@{arm.digest}" in child_body


@pytest.mark.django_db
def test_unknown_tag_and_manifest_are_404(client, reader, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    assert client.get("/repos/team/app/-/tags/nope/").status_code == 404
    assert client.get("/repos/team/app/-/manifests/sha256:" + "0" * 64 + "/").status_code == 404


@pytest.mark.django_db
def test_outsider_gets_404_everywhere(client, outsider, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(outsider)
    digest = Tag.objects.get(repository=app, name="1.0").manifest.digest
    for url in (
        "/repos/team/app/-/tags/1.0/",
        f"/repos/team/app/-/manifests/{digest}/",
        "/repos/team/app/-/delete-tags/?tag=1.0",
        f"/repos/team/app/-/manifests/{digest}/delete/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post("/repos/team/app/-/delete-tags/", {"tag": "1.0"}).status_code == 404
    assert client.post(f"/repos/team/app/-/manifests/{digest}/delete/").status_code == 404
    assert Tag.objects.filter(repository=app).count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [True, False])
def test_reader_cannot_delete_tags_or_images(client, reader, app, htmx: bool) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    headers = HTMX if htmx else {}
    digest = Tag.objects.get(repository=app, name="1.0").manifest.digest
    for method, url, data in (
        ("get", "/repos/team/app/-/delete-tags/?tag=1.0", None),
        ("post", "/repos/team/app/-/delete-tags/", {"tag": ["1.0"]}),
        ("get", f"/repos/team/app/-/manifests/{digest}/delete/", None),
        ("post", f"/repos/team/app/-/manifests/{digest}/delete/", {}),
    ):
        response = getattr(client, method)(url, data, **headers)
        assert response.status_code == 403, url
        if htmx:
            assert response["HX-Reswap"] == "none"
            assert toasts(response)[0]["code"] == PREFIX + FORBIDDEN_IMAGE
    assert Tag.objects.filter(repository=app).count() == 3


@pytest.mark.django_db
def test_delete_confirmation_names_every_selected_tag(client, owner, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.get(
        "/repos/team/app/-/delete-tags/",
        {"tag": ["stable", "multi"], "q": "", "sort": "name", "page": "1"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Delete 2 tags?" in body
    assert "<li>stable</li>" in body and "<li>multi</li>" in body
    assert "<li>1.0</li>" not in body
    assert "Other tags that point at the same image stay." in body
    assert '<input type="hidden" name="tag" value="stable">' in body
    assert '<input type="hidden" name="sort" value="name">' in body
    assert 'hx-target="#tags"' in body


@pytest.mark.django_db
def test_delete_with_nothing_selected_is_refused(client, owner, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post("/repos/team/app/-/delete-tags/", {}, **HTMX)
    assert response.status_code == 400
    assert toasts(response)[0]["code"] == PREFIX + INVALID_PARAMETERS


@pytest.mark.django_db
def test_image_delete_confirmation_lists_every_tag_that_goes(client, owner, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    digest = Tag.objects.get(repository=app, name="1.0").manifest.digest
    body = client.get(f"/repos/team/app/-/manifests/{digest}/delete/", **HTMX).content.decode()
    assert "removes every tag that points at it" in body
    assert "<li>1.0</li>" in body and "<li>stable</li>" in body
    assert "<li>multi</li>" not in body
    assert "Delete image and 2 tags" in body


# -- the registry is down ------------------------------------------------------------------------


@pytest.fixture
def registry_down(settings):  # type: ignore[no-untyped-def]
    """Nothing listens at the registry's address (free_port is closed again at once)."""
    settings.REGISTRY_URL = f"http://127.0.0.1:{free_port()}"


@pytest.mark.django_db
def test_tag_page_works_with_the_registry_down_and_shows_the_error_inline(  # type: ignore[no-untyped-def]
    client, reader, app, registry_down
) -> None:
    repository = app
    bare = make_manifest(repository, seed="bare", with_details=False)
    make_tag(repository, "bare", bare)
    client.force_login(reader)
    response = client.get("/repos/team/app/-/tags/bare/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="details-error"' in body
    assert f'data-error-code="{PREFIX}{REGISTRY_UNAVAILABLE}"' in body
    assert "cannot be reached" in body
    # What the index knows still shows.
    assert f'<code id="manifest-digest">{bare.digest}</code>' in body
    assert 'id="pull-commands"' in body
    assert "linux/amd64" in body
    assert "Traceback" not in body
    # Pages that read only the index do not notice at all.
    assert client.get("/repos/team/app/").status_code == 200
    assert client.get("/repos/").status_code == 200


@pytest.mark.django_db
def test_tag_page_with_details_already_indexed_needs_no_registry(
    client, reader, app, registry_down
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    body = client.get("/repos/team/app/-/tags/1.0/").content.decode()
    assert 'id="details-error"' not in body
    assert 'id="layer-rows"' in body


@pytest.mark.django_db
def test_deleting_with_the_registry_down_reports_and_keeps_the_tag(  # type: ignore[no-untyped-def]
    client, owner, app, registry_down
) -> None:
    client.force_login(owner)
    response = client.post(
        "/repos/team/app/-/delete-tags/",
        {"tag": ["1.0"]},
        HTTP_X_BERTH_ERROR_TARGET="#confirm-error",
        **HTMX,
    )
    assert response.status_code == 503
    assert response["HX-Retarget"] == "#confirm-error"
    body = response.content.decode()
    assert PREFIX + REGISTRY_UNAVAILABLE in body
    assert "Could not delete tag 1.0" in body
    assert Tag.objects.filter(repository=app, name="1.0").exists()


# -- against the real registry -------------------------------------------------------------------


def _uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.mark.registry
def test_pushed_images_browse_and_one_sibling_tag_deletes_from_the_page(  # type: ignore[no-untyped-def]
    worker, client, owner, make_org, berth_registry_client: RegistryClient
) -> None:
    organization = make_org(f"pages-{_uid()}", creator=owner)
    path = f"{organization.name}/app"
    image = build_image(labels={"run": _uid()}, env=["PATH=/bin", "MODE=test"], layers=2)
    multi = build_index(
        [
            build_image(architecture="amd64", labels={"run": _uid()}),
            build_image(architecture="arm64", variant="v8", labels={"run": _uid()}),
        ]
    )
    for tag in ("v1", "v1-alias"):
        push_image(berth_registry_client, path, image, tag)
    push_image(berth_registry_client, path, multi, "multi")
    wait_for(
        lambda: Tag.objects.filter(repository__organization=organization).count() == 3,
        timeout=30,
        what="the index to show three tags",
    )
    client.force_login(owner)
    base = f"/repos/{path}/"

    page = client.get(base).content.decode()
    assert f'<code title="{image.digest}">{image.digest[7:19]}</code>' in page
    assert 'data-tag="v1"' in page and 'data-tag="v1-alias"' in page
    assert "linux/amd64" in page and "linux/arm64/v8" in page

    tag_page = client.get(f"{base}-/tags/v1/").content.decode()
    assert "MODE=test" in tag_page
    assert tag_page.count("<tr><td>") == 2  # two layers
    arm_digest = multi.children[1].digest
    multi_page = client.get(f"{base}-/tags/multi/").content.decode()
    assert f'href="{base}-/manifests/{arm_digest}/">linux/arm64/v8</a>' in multi_page
    assert client.get(f"{base}-/manifests/{arm_digest}/").status_code == 200

    response = client.post(
        f"{base}-/delete-tags/", {"tag": ["v1"], "sort": "name", "page": "1"}, **HTMX
    )
    assert response.status_code == 200, response.content
    body = response.content.decode()
    assert 'data-tag="v1"' not in body
    assert 'data-tag="v1-alias"' in body and 'data-tag="multi"' in body
    assert 'id="repo-summary" class="mb-4" hx-swap-oob="true"' in body
    assert 'data-field="tag-count">2<' in body
    assert toasts(response) == [
        {"level": "success", "message": f"Deleted 1 tag of {path}: v1.", "code": ""}
    ]
    assert sorted(berth_registry_client.tags(path)) == ["multi", "v1-alias"]
    assert berth_registry_client.head_manifest(path, "v1-alias").digest == image.digest

    # A tag that is already gone is reported, and nothing else is touched.
    again = client.post(f"{base}-/delete-tags/", {"tag": ["v1"]}, **HTMX)
    assert again.status_code == 404
    assert toasts(again)[0]["code"] == PREFIX + TAG_NOT_FOUND
    assert sorted(berth_registry_client.tags(path)) == ["multi", "v1-alias"]

    # Deleting the multi-arch image by digest: the confirmation names its tag, then it goes.
    confirm = client.get(f"{base}-/manifests/{multi.digest}/delete/", **HTMX).content.decode()
    assert "<li>multi</li>" in confirm and "<li>v1-alias</li>" not in confirm
    gone = client.post(f"{base}-/manifests/{multi.digest}/delete/", **HTMX)
    assert gone["HX-Redirect"] == base
    assert berth_registry_client.tags(path) == ["v1-alias"]
    assert not Tag.objects.filter(repository__organization=organization, name="multi").exists()

    # Without JavaScript, the last tag's confirmation is a page and the delete redirects.
    assert "<html" in client.get(f"{base}-/delete-tags/", {"tag": "v1-alias"}).content.decode()
    plain = client.post(f"{base}-/delete-tags/", {"tag": ["v1-alias"]})
    assert (plain.status_code, plain["Location"]) == (302, base)
    assert berth_registry_client.tags(path) == []

    # The empty repository, then the empty organization, go through their pages too.
    removed = client.post(f"{base}-/delete/", **HTMX)
    assert removed["HX-Redirect"] == f"/orgs/{organization.name}/"
    assert not Repository.objects.filter(organization=organization).exists()
    org_page = client.get(f"/orgs/{organization.name}/").content.decode()
    assert f"Repository {path} deleted." in org_page
    assert 'id="organization-delete"' in org_page
    assert client.post(f"/orgs/{organization.name}/delete/", **HTMX)["HX-Redirect"] == "/orgs/"
    assert not Organization.objects.filter(pk=organization.pk).exists()
