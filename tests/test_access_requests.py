"""Access request services: who may ask, who decides, and that approving is granting."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from dashboard.models import (
    AccessRequest,
    AuditEvent,
    Level,
    OrganizationPermission,
    RepositoryPermission,
)
from dashboard.services.access import organization_level, repository_level
from dashboard.services.access_requests import (
    access_request_approve,
    access_request_cancel,
    access_request_create,
    access_request_deny,
    pending_count_for_manager,
    pending_for_manager,
)
from dashboard.services.errors import PREFIX, ServiceError
from tests.index_rows import make_repository


@pytest.fixture
def org(owner, make_org):  # type: ignore[no-untyped-def]
    return make_org("req-team", creator=owner)


@pytest.fixture
def repo(org):  # type: ignore[no-untyped-def]
    return make_repository(org, "app")


def _code(error: pytest.ExceptionInfo[ServiceError]) -> tuple[str, int]:
    return error.value.code.removeprefix(PREFIX), error.value.status


def _level(user, repo) -> int:  # type: ignore[no-untyped-def]
    return repository_level(user=user, organization=repo.organization, repository=repo)


@pytest.mark.django_db
def test_create_on_a_private_repository_and_one_pending_per_target(outsider, repo) -> None:  # type: ignore[no-untyped-def]
    request = access_request_create(user=outsider, repository=repo, level=Level.READ, reason="ci")
    assert request.status == AccessRequest.Status.PENDING and request.target_name == "req-team/app"
    assert AuditEvent.objects.filter(action="createAccessRequest", actor=outsider).count() == 1
    with pytest.raises(ServiceError) as error:
        access_request_create(user=outsider, repository=repo, level=Level.WRITE, reason="")
    assert _code(error) == ("4090101", 409)
    # Another target is another request; after cancelling, asking again is fine.
    access_request_create(user=outsider, organization=repo.organization, level=1, reason="")
    access_request_cancel(request=request, actor=outsider)
    access_request_create(user=outsider, repository=repo, level=Level.WRITE, reason="")


@pytest.mark.django_db
def test_create_refusals(owner, reader, outsider, admin_user, org, repo) -> None:  # type: ignore[no-untyped-def]
    OrganizationPermission.objects.create(organization=org, user=reader, level=Level.READ)
    cases = [
        (dict(user=reader, repository=repo, level=Level.READ), ("4000014", 400)),  # has it
        (dict(user=owner, organization=org, level=Level.WRITE), ("4000014", 400)),
        (dict(user=admin_user, repository=repo, level=Level.MANAGE), ("4000014", 400)),
        (dict(user=outsider, repository=repo, level=2), ("4000014", 400)),
        (dict(user=outsider, organization=org, repository=repo, level=1), ("4000014", 400)),
        (dict(user=outsider, level=1), ("4000014", 400)),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ServiceError) as error:
            access_request_create(reason="", **kwargs)  # type: ignore[arg-type]
        assert _code(error) == expected, kwargs
    with pytest.raises(ServiceError) as error:
        access_request_create(user=outsider, repository=repo, level=1, reason="x" * 1001)
    assert _code(error) == ("4000014", 400)
    # A reader asks for Write: allowed.
    access_request_create(user=reader, repository=repo, level=Level.WRITE, reason="push")
    assert AccessRequest.objects.count() == 1


@pytest.mark.django_db
def test_approving_grants_exactly_the_level(owner, outsider, reader, org, repo) -> None:  # type: ignore[no-untyped-def]
    request = access_request_create(user=outsider, repository=repo, level=Level.READ, reason="")
    assert _level(outsider, repo) == Level.NONE
    access_request_approve(request=request, actor=owner)
    assert _level(outsider, repo) == Level.READ
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == owner
    assert request.decided_at is not None
    assert AuditEvent.objects.filter(action="approveAccessRequest", actor=owner).count() == 1
    with pytest.raises(ServiceError) as error:
        access_request_approve(request=request, actor=owner)
    assert _code(error) == ("4090102", 409)

    # A second request raises the existing grant instead of failing on it.
    more = access_request_create(user=outsider, repository=repo, level=Level.WRITE, reason="")
    access_request_approve(request=more, actor=owner)
    assert RepositoryPermission.objects.get(repository=repo, user=outsider).level == Level.WRITE

    # Organizations: a reader's grant goes up to what was asked.
    OrganizationPermission.objects.create(organization=org, user=reader, level=Level.READ)
    up = access_request_create(user=reader, organization=org, level=Level.WRITE, reason="")
    access_request_approve(request=up, actor=owner)
    assert organization_level(user=reader, organization=org) == Level.WRITE


@pytest.mark.django_db
def test_who_may_decide(owner, outsider, reader, make_user, make_org, org, repo) -> None:  # type: ignore[no-untyped-def]
    other_manager = make_user("other-manager")
    make_org("req-other", creator=other_manager)
    OrganizationPermission.objects.create(organization=org, user=reader, level=Level.READ)
    request = access_request_create(user=outsider, repository=repo, level=Level.READ, reason="")
    for actor in (other_manager, reader, outsider):
        with pytest.raises(ServiceError) as error:
            access_request_approve(request=request, actor=actor)
        assert _code(error) == ("4039002", 403)
        with pytest.raises(ServiceError) as error:
            access_request_deny(request=request, actor=actor, note="")
        assert _code(error) == ("4039002", 403)
    assert _level(outsider, repo) == Level.NONE
    request.refresh_from_db()
    assert request.status == "pending"
    with pytest.raises(ServiceError) as error:
        access_request_cancel(request=request, actor=owner)
    assert _code(error) == ("4039002", 403)

    # An org writer may grant Read on a repository but not Manage (permissions.py's rule).
    writer = make_user("writer")
    OrganizationPermission.objects.create(organization=org, user=writer, level=Level.WRITE)
    big = access_request_create(user=reader, repository=repo, level=Level.MANAGE, reason="")
    with pytest.raises(ServiceError) as error:
        access_request_approve(request=big, actor=writer)
    assert _code(error) == ("4039002", 403)
    assert RepositoryPermission.objects.filter(user=reader).count() == 0
    access_request_approve(request=request, actor=writer)
    assert _level(outsider, repo) == Level.READ


@pytest.mark.django_db
def test_deny_and_cancel(owner, outsider, org, repo) -> None:  # type: ignore[no-untyped-def]
    request = access_request_create(user=outsider, organization=org, level=Level.READ, reason="")
    denied = access_request_deny(request=request, actor=owner, note="ask your lead")
    assert denied.status == "denied" and denied.decision_note == "ask your lead"
    assert organization_level(user=outsider, organization=org) == Level.NONE
    with pytest.raises(ServiceError) as error:
        access_request_cancel(request=request, actor=outsider)
    assert _code(error) == ("4090102", 409)
    again = access_request_create(user=outsider, organization=org, level=Level.READ, reason="")
    assert access_request_cancel(request=again, actor=outsider).status == "cancelled"
    with pytest.raises(ServiceError) as error:
        access_request_approve(request=again, actor=owner)
    assert _code(error) == ("4090102", 409)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"createAccessRequest", "denyAccessRequest", "cancelAccessRequest"} <= actions


@pytest.mark.django_db
def test_pending_for_manager(  # type: ignore[no-untyped-def]
    owner, outsider, reader, make_user, make_org, admin_user, org, repo, django_assert_num_queries
) -> None:
    other_manager = make_user("other-manager")
    other = make_org("req-other", creator=other_manager)
    on_repo = access_request_create(user=outsider, repository=repo, level=Level.READ, reason="")
    on_org = access_request_create(user=reader, organization=org, level=Level.READ, reason="")
    elsewhere = access_request_create(user=outsider, organization=other, level=1, reason="")
    # A team's Manage on a repository is enough to decide on it.
    team = Group.objects.create(name="repo-keepers")
    keeper = make_user("keeper")
    keeper.groups.add(team)  # type: ignore[attr-defined]
    RepositoryPermission.objects.create(repository=repo, team=team, level=Level.MANAGE)

    with django_assert_num_queries(1):
        decided = list(pending_for_manager(user=owner))
        names = [(r.requester.get_username(), r.target_name) for r in decided]
    assert [r.pk for r in decided] == [on_repo.pk, on_org.pk] and names[0][1] == "req-team/app"
    assert [r.pk for r in pending_for_manager(user=other_manager)] == [elsewhere.pk]
    assert [r.pk for r in pending_for_manager(user=keeper)] == [on_repo.pk]
    assert list(pending_for_manager(user=outsider)) == []  # own requests are not decisions
    assert pending_count_for_manager(user=admin_user) == 3
    with django_assert_num_queries(1):
        assert pending_count_for_manager(user=owner) == 2
    access_request_deny(request=on_org, actor=owner)
    assert pending_count_for_manager(user=owner) == 1
