"""The audit log page: who sees which traces, the filters, the CSV export, query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from dashboard.models import AuditEvent, Level, OrganizationPermission
from dashboard.services.audit import audit_record

pytestmark = pytest.mark.django_db

URL = "/audit/"


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _sign_in(client: Client, user: User) -> None:
    """Sign in without keeping the sign-in's own trace (it would be in every list)."""
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    client.force_login(user)
    AuditEvent.objects.filter(id__gt=before).delete()


def _rows(response: Any) -> list[AuditEvent]:
    return list(response.context["page"].object_list)


@pytest.fixture
def traces(owner: User, reader: User, outsider: User, make_org: Callable) -> dict[str, Any]:
    """Traces in two organizations (owner manages `mine`), plus the reader's and the outsider's
    own sign-ins."""
    mine = make_org(f"m{_uid()}", owner)
    other = make_org(f"o{_uid()}", outsider)
    OrganizationPermission.objects.create(organization=mine, user=reader, level=Level.READ)
    in_mine = audit_record(
        action="deleteImageTag",
        resource_type="imagetag",
        resource_name=f"{mine.name}/app:v1",
        organization=mine.name,
        actor=outsider,
        source_ip="192.0.2.1",
    )
    in_other = audit_record(
        action="uploadManifest",
        resource_type="manifest",
        resource_name=f"{other.name}/app:v1",
        organization=other.name,
        actor=outsider,
    )
    reader_login = audit_record(action="login", resource_type="user", actor=reader)
    failed = audit_record(
        action="login", resource_type="user", actor_name="outsider", result="failure"
    )
    return {
        "mine": mine,
        "other": other,
        "in_mine": in_mine,
        "in_other": in_other,
        "reader_login": reader_login,
        "failed": failed,
    }


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_superuser_sees_every_trace(client: Client, admin_user: User, traces: dict) -> None:
    _sign_in(client, admin_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert {e.pk for e in _rows(response)} >= {
        t.pk for t in traces.values() if isinstance(t, AuditEvent)
    }
    assert b'href="/audit/"' in response.content  # the nav item


def test_organization_manager_sees_that_organization_and_their_own(
    client: Client, owner: User, traces: dict
) -> None:
    own = audit_record(action="login", resource_type="user", actor=owner)
    _sign_in(client, owner)
    rows = {e.pk for e in _rows(client.get(URL))}
    assert rows == {traces["in_mine"].pk, own.pk}


def test_manage_through_a_team_counts(client: Client, reader: User, traces: dict) -> None:
    team = Group.objects.create(name=f"t{_uid()}")
    reader.groups.add(team)
    OrganizationPermission.objects.create(organization=traces["other"], team=team, level=7)
    _sign_in(client, reader)
    rows = {e.pk for e in _rows(client.get(URL))}
    assert rows == {traces["reader_login"].pk, traces["in_other"].pk}


def test_plain_user_sees_only_their_own(client: Client, reader: User, traces: dict) -> None:
    _sign_in(client, reader)
    response = client.get(URL)
    assert [e.pk for e in _rows(response)] == [traces["reader_login"].pk]
    # Read on an organization is not enough to read its traces.
    assert traces["mine"].name not in response.content.decode()


def test_filters(client: Client, admin_user: User, traces: dict) -> None:
    _sign_in(client, admin_user)

    def pks(**params: str) -> set[int]:
        return {e.pk for e in _rows(client.get(URL, params))}

    assert pks(actor="outsider") == {
        traces["in_mine"].pk,
        traces["in_other"].pk,
        traces["failed"].pk,
    }
    assert pks(action="uploadManifest") == {traces["in_other"].pk}
    assert pks(resource=f"{traces['mine'].name}/APP") == {traces["in_mine"].pk}
    assert pks(organization=traces["other"].name) == {traces["in_other"].pk}
    assert pks(result="failure", actor="outsider") == {traces["failed"].pk}
    AuditEvent.objects.filter(pk=traces["in_other"].pk).update(
        created_at=timezone.now() - dt.timedelta(days=3)
    )
    today = timezone.localdate()
    assert traces["in_other"].pk not in pks(since=str(today))
    assert pks(actor="outsider", until=str(today - dt.timedelta(days=2))) == {traces["in_other"].pk}
    # An invalid value is ignored rather than failing the page.
    assert traces["in_other"].pk in pks(since="yesterday", actor="outsider")


def test_htmx_request_gets_the_table_only(client: Client, admin_user: User, traces: dict) -> None:
    _sign_in(client, admin_user)
    response = client.get(URL, {"action": "login"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="audit-table">')
    assert "<nav" not in body.split('<div id="audit-table">')[0]


def test_pages_of_fifty(client: Client, admin_user: User) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(action="login", resource_type="user", actor_name=f"u{i}") for i in range(120)
    )
    _sign_in(client, admin_user)
    assert len(_rows(client.get(URL))) == 50
    assert len(_rows(client.get(URL, {"page": "3"}))) == 20


def test_csv_export_has_the_filtered_rows(client: Client, owner: User, traces: dict) -> None:
    audit_record(
        action="login", resource_type="user", actor=owner, detail={"note": "=HYPERLINK(1)"}
    )
    audit_record(action="createTeam", resource_type="team", resource_name="=cmd", actor=owner)
    _sign_in(client, owner)
    response = client.get(URL, {"format": "csv", "action": "createTeam"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["time", "actor", "source_ip", "action"]
    assert [(r[1], r[3], r[5]) for r in rows[1:]] == [("owner", "createTeam", "'=cmd")]

    everything = client.get(URL, {"format": "csv"})
    names = {r[3] for r in list(csv.reader(io.StringIO(everything.content.decode())))[1:]}
    assert names == {"login", "createTeam", "deleteImageTag"}  # not the other organization's


def test_csv_export_stops_at_5000_rows(client: Client, admin_user: User) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(action="login", resource_type="user", actor_name="bulk") for _ in range(5003)
    )
    _sign_in(client, admin_user)
    response = client.get(URL, {"format": "csv", "actor": "bulk"})
    assert len(response.content.decode().strip().splitlines()) == 1 + 5000


@pytest.mark.parametrize("persona", ["admin_user", "owner", "reader"])
def test_query_count_is_constant(
    client: Client,
    persona: str,
    request: pytest.FixtureRequest,
    traces: dict,
    django_assert_max_num_queries: Any,
) -> None:
    user = request.getfixturevalue(persona)
    _sign_in(client, user)
    client.get(URL)  # warm the session
    OrganizationPermission.objects.filter(user=user).update(level=7)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action="deleteImageTag",
            resource_type="imagetag",
            organization=traces["mine"].name,
            actor=user,
            actor_name=user.username,
        )
        for _ in range(60)
    )
    with django_assert_max_num_queries(6):
        response = client.get(URL, {"action": "deleteImageTag"})
    assert len(_rows(response)) == 50
