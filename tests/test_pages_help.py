"""Push help and the overview's login hint: exact commands for this registry and this user."""

from __future__ import annotations

import pytest
from django.test import override_settings

from dashboard.models import Level
from tests.index_rows import grant_org, make_repository, make_tag

pytestmark = pytest.mark.django_db


def copies(body: str) -> list[str]:
    import re

    return re.findall(r'data-copy="([^"]*)"', body)


def test_push_help_uses_the_registry_host_the_user_and_their_organization(  # type: ignore[no-untyped-def]
    client, owner, make_org, settings
) -> None:
    make_org("team-a", creator=owner)
    client.force_login(owner)
    body = client.get("/help/push/").content.decode()
    host = settings.REGISTRY_HOST
    commands = copies(body)
    for expected in (
        f"docker login -u owner {host}",
        f"docker tag myimage:1.0 {host}/team-a/myimage:1.0",
        f"docker push {host}/team-a/myimage:1.0",
        f"podman login --tls-verify=false -u owner {host}",
        f"podman push --tls-verify=false myimage:1.0 {host}/team-a/myimage:1.0",
        f"skopeo copy --dest-tls-verify=false --dest-creds owner "
        f"docker-archive:myimage.tar docker://{host}/team-a/myimage:1.0",
        f"ctr image push --plain-http --user owner {host}/team-a/myimage:1.0",
    ):
        assert expected in commands, expected
    # Plain HTTP: how to list the registry under insecure-registries.
    assert 'id="insecure"' in body
    assert f'"insecure-registries": ["{host}"]' in body


@override_settings(
    REGISTRY_URL="https://registry.example.com", REGISTRY_HOST="registry.example.com"
)
def test_push_help_for_a_tls_registry_has_no_insecure_advice(client, owner, make_org) -> None:  # type: ignore[no-untyped-def]
    make_org("team-a", creator=owner)
    client.force_login(owner)
    body = client.get("/help/push/").content.decode()
    assert 'id="insecure"' not in body
    assert "podman login -u owner registry.example.com" in copies(body)
    assert "docker push registry.example.com/team-a/myimage:1.0" in copies(body)


@override_settings(REGISTRY_INSECURE=True, REGISTRY_URL="https://internal:5000")
def test_the_insecure_setting_wins_over_the_scheme(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert 'id="insecure"' in client.get("/help/push/").content.decode()


def test_push_help_offers_only_organizations_the_user_can_write_to(  # type: ignore[no-untyped-def]
    client, owner, outsider, make_org, settings
) -> None:
    grant_org(make_org("readable", creator=owner), outsider, Level.READ)
    grant_org(make_org("writable", creator=owner), outsider, Level.WRITE)
    grant_org(make_org("managed", creator=owner), outsider, Level.MANAGE)
    client.force_login(outsider)
    response = client.get("/help/push/")
    assert response.context["writable"] == ["managed", "writable"]
    assert f"docker push {settings.REGISTRY_HOST}/managed/myimage:1.0" in copies(
        response.content.decode()
    )
    chosen = client.get("/help/push/", {"org": "writable"})
    assert f"docker push {settings.REGISTRY_HOST}/writable/myimage:1.0" in copies(
        chosen.content.decode()
    )
    # An organization the user cannot push to is not offered, whatever the URL says.
    other = client.get("/help/push/", {"org": "readable"})
    assert other.context["organization"] == "managed"


def test_push_help_without_an_organization_says_to_create_one(client, outsider, settings) -> None:  # type: ignore[no-untyped-def]
    client.force_login(outsider)
    body = client.get("/help/push/").content.decode()
    assert 'id="no-writable-organization"' in body
    assert f"docker push {settings.REGISTRY_HOST}/&lt;organization&gt;/myimage:1.0" in body


def test_overview_counts_what_the_user_can_see_and_shows_the_login_hint(  # type: ignore[no-untyped-def]
    client, owner, outsider, make_org, settings
) -> None:
    team = make_org("team", creator=owner)
    private = make_repository(team, "private")
    public = make_repository(team, "public", is_public=True)
    make_tag(private, "v1")
    make_tag(public, "v1")
    make_tag(public, "v2")
    client.force_login(outsider)
    response = client.get("/")
    overview = response.context["overview"]
    assert (overview.organizations, overview.repositories, overview.tags) == (1, 1, 2)
    assert overview.storage == public.__class__.objects.get(pk=public.pk).size
    body = response.content.decode()
    assert f'data-copy="docker login -u outsider {settings.REGISTRY_HOST}"' in body
    assert [f"{t.repository.full_name}:{t.name}" for t in response.context["recent"]] == [
        "team/public:v2",
        "team/public:v1",
    ]
    client.force_login(owner)
    overview = client.get("/").context["overview"]
    assert (overview.organizations, overview.repositories, overview.tags) == (1, 2, 3)


def test_pages_need_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    for url in ("/", "/help/push/", "/repos/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"


def test_sign_in_page_renders_and_signs_in(client, owner) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD

    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode()
    wrong = client.post("/accounts/login/", {"username": "owner", "password": "nope"})
    assert "did not match" in wrong.content.decode()
    right = client.post("/accounts/login/", {"username": "owner", "password": PASSWORD})
    assert right.status_code == 302
    assert right["Location"] == "/"
    signed_in = client.get("/").content.decode()
    assert 'action="/accounts/logout/"' in signed_in
