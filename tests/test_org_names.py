"""Organization names, reserved names, duplicates and the per-user quota: SWR's codes and
messages, from the service and through the create form."""

from __future__ import annotations

import pytest
from django.test import override_settings

from dashboard.models import Level, Organization, OrganizationPermission
from dashboard.services.errors import (
    FORBIDDEN_ORG,
    INVALID_ORG_NAME,
    ORG_EXISTS,
    ORG_NOT_EMPTY,
    ORG_QUOTA_EXCEEDED,
    PREFIX,
    ServiceError,
)
from dashboard.services.organizations import (
    organization_create,
    organization_delete,
    organization_name_error,
)
from dashboard.services.repositories import repository_name_error
from tests.index_rows import make_repository

pytestmark = pytest.mark.django_db

VALID = [
    "a",
    "team",
    "team-a",
    "team--a",
    "team.a",
    "team_a",
    "team__a",
    "a1",
    "a-1.b_2__c",
    "a" * 64,
]
INVALID = [
    ("", "required"),
    ("a" * 65, "at most 64"),
    ("Team", "Only lowercase"),
    ("team a", "Only lowercase"),
    ("team/a", "Only lowercase"),
    ("tëam", "Only lowercase"),
    ("1team", "start with a lowercase letter"),
    ("-team", "start with a lowercase letter"),
    ("_team", "start with a lowercase letter"),
    ("team-", "end with a lowercase letter or digit"),
    ("team.", "end with a lowercase letter or digit"),
    ("team___a", "two consecutive underscores"),
    ("team._a", "may not be next to each other"),
    ("team.-a", "may not be next to each other"),
    ("team-.a", "may not be next to each other"),
    ("team..a", "may not be next to each other"),
    ("team_-a", "may not be next to each other"),
    ("library", "reserved"),
    ("manage", "reserved"),
]


@pytest.mark.parametrize("name", VALID)
def test_valid_organization_names_pass(name: str) -> None:
    assert organization_name_error(name) is None


@pytest.mark.parametrize(("name", "reason"), INVALID)
def test_invalid_organization_names_say_why(name: str, reason: str) -> None:
    problem = organization_name_error(name)
    assert problem is not None
    assert reason in problem


@pytest.mark.parametrize(("name", "reason"), INVALID)
def test_creating_an_invalid_name_is_4001028(owner, name: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as caught:
        organization_create(name=name, actor=owner)
    assert caught.value.code == PREFIX + INVALID_ORG_NAME
    assert caught.value.status == 400
    assert caught.value.message.startswith("Invalid organization name: ")
    assert reason in caught.value.message
    assert not Organization.objects.exists()


def test_creator_holds_manage(owner) -> None:  # type: ignore[no-untyped-def]
    organization = organization_create(name="team-a", actor=owner)
    assert organization.creator == owner
    grant = OrganizationPermission.objects.get(organization=organization)
    assert (grant.user, grant.team, grant.level) == (owner, None, Level.MANAGE)


def test_duplicate_name_is_4090060_even_when_not_visible(owner, outsider, make_org) -> None:  # type: ignore[no-untyped-def]
    make_org("taken", creator=owner)
    with pytest.raises(ServiceError) as caught:
        organization_create(name="taken", actor=outsider)
    assert (caught.value.code, caught.value.status) == (PREFIX + ORG_EXISTS, 409)
    assert caught.value.message == "The organization 'taken' already exists."
    assert Organization.objects.filter(name="taken").count() == 1
    assert not OrganizationPermission.objects.filter(user=outsider).exists()


@override_settings(ORG_QUOTA=2)
def test_quota_counts_organizations_the_user_created(owner, outsider) -> None:  # type: ignore[no-untyped-def]
    organization_create(name="one", actor=owner)
    organization_create(name="two", actor=owner)
    with pytest.raises(ServiceError) as caught:
        organization_create(name="three", actor=owner)
    assert (caught.value.code, caught.value.status) == (PREFIX + ORG_QUOTA_EXCEEDED, 400)
    assert "maximum number of organizations" in caught.value.message
    assert "2 per user" in caught.value.message
    assert not Organization.objects.filter(name="three").exists()
    # Another user's quota is their own.
    organization_create(name="three", actor=outsider)


@override_settings(ORG_QUOTA=1)
def test_quota_frees_up_after_a_delete(owner) -> None:  # type: ignore[no-untyped-def]
    first = organization_create(name="one", actor=owner)
    organization_delete(organization=first, actor=owner)
    organization_create(name="two", actor=owner)


@override_settings(ORG_QUOTA=1)
def test_superusers_have_no_quota(admin_user) -> None:  # type: ignore[no-untyped-def]
    for name in ("one", "two", "three"):
        organization_create(name=name, actor=admin_user)
    assert Organization.objects.filter(creator=admin_user).count() == 3


def test_anonymous_cannot_create() -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(ServiceError) as caught:
        organization_create(name="anon", actor=AnonymousUser())
    assert (caught.value.code, caught.value.status) == (PREFIX + FORBIDDEN_ORG, 403)


def test_delete_refuses_an_organization_with_images(owner, make_org) -> None:  # type: ignore[no-untyped-def]
    organization = make_org("full", creator=owner)
    make_repository(organization, "app")
    with pytest.raises(ServiceError) as caught:
        organization_delete(organization=organization, actor=owner)
    assert (caught.value.code, caught.value.status) == (PREFIX + ORG_NOT_EMPTY, 406)
    assert "cannot be deleted because there are images in it" in caught.value.message
    assert Organization.objects.filter(name="full").exists()


def test_delete_needs_manage(owner, outsider, make_org) -> None:  # type: ignore[no-untyped-def]
    organization = make_org("kept", creator=owner)
    OrganizationPermission.objects.create(
        organization=organization, user=outsider, level=Level.WRITE
    )
    with pytest.raises(ServiceError) as caught:
        organization_delete(organization=organization, actor=outsider)
    assert (caught.value.code, caught.value.status) == (PREFIX + FORBIDDEN_ORG, 403)
    organization_delete(organization=organization, actor=owner)
    assert not Organization.objects.filter(name="kept").exists()
    assert not OrganizationPermission.objects.exists()


@pytest.mark.parametrize("name", ["app", "tools/busybox", "a/b/c", "a.b", "a__b", "a--b", "0"])
def test_valid_repository_names(name: str) -> None:
    assert repository_name_error(name) is None


@pytest.mark.parametrize(
    "name", ["", "App", "/app", "app/", "a//b", "a/-b", "a___b", "-a", "a" * 129, "a b"]
)
def test_invalid_repository_names(name: str) -> None:
    assert repository_name_error(name) is not None


# -- through the form ------------------------------------------------------------------------


def _create(client, name: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/orgs/",
        {"name": name},
        HTTP_HX_REQUEST="true",
        HTTP_X_BERTH_ERROR_TARGET="#org-create-error",
    )


@pytest.mark.parametrize(
    ("name", "code", "status", "text"),
    [
        ("Bad Name", INVALID_ORG_NAME, 400, "Only lowercase letters"),
        ("", INVALID_ORG_NAME, 400, "The organization name is required."),
        ("library", INVALID_ORG_NAME, 400, "The name &#x27;library&#x27; is reserved."),
        ("taken", ORG_EXISTS, 409, "The organization &#x27;taken&#x27; already exists."),
    ],
)
def test_form_shows_the_code_and_message_in_place(  # type: ignore[no-untyped-def]
    client, owner, outsider, make_org, name, code, status, text
) -> None:
    make_org("taken", creator=outsider)
    client.force_login(owner)
    response = _create(client, name)
    assert response.status_code == status
    assert response["HX-Retarget"] == "#org-create-error"
    body = response.content.decode()
    assert PREFIX + code in body
    assert text in body
    assert Organization.objects.count() == 1


@override_settings(ORG_QUOTA=1)
def test_form_reports_the_quota(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert _create(client, "first").status_code == 200
    response = _create(client, "second")
    assert response.status_code == 400
    assert PREFIX + ORG_QUOTA_EXCEEDED in response.content.decode()
