"""The organizations page shows how much of the per-user quota is used where one is created."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.pages import HTMX


@pytest.mark.django_db
@override_settings(ORG_QUOTA=2)
def test_used_of_limit_follows_creations(client, owner, make_org) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert "0 of 2 organizations used." in client.get("/orgs/").content.decode()
    make_org("someone-elses")  # not the owner's
    response = client.post("/orgs/", {"name": "quota-one"}, **HTMX)
    assert "1 of 2 organizations used." in response.content.decode()
    client.post("/orgs/", {"name": "quota-two"}, **HTMX)
    response = client.post("/orgs/", {"name": "quota-three"}, **HTMX)
    assert "4000097" in response.content.decode()
    assert "2 of 2 organizations used." in client.get("/orgs/").content.decode()


@pytest.mark.django_db
def test_administrators_are_unlimited(client, admin_user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    client.post("/orgs/", {"name": "admin-made"}, **HTMX)
    body = client.get("/orgs/").content.decode()
    assert "1 organization created; administrators have no limit." in body
    assert " of " not in body.split('id="org-quota"', 1)[1].split("</div>", 1)[0]
