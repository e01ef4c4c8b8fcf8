"""The SWR API's failures are SWR's combined error body with a code, never an HTML page or a
500: unknown paths and methods, malformed or oversized bodies, wrong media types; and the list
parameters (`offset`/`limit`, ordering, the `filter` form) are checked as SWR does."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from dashboard.api.paging import ListQuery, content_range, list_query
from dashboard.services.errors import ServiceError
from tests.swr_api import Api, swr_error


@pytest.fixture
def api(client: Client, owner) -> Api:  # type: ignore[no-untyped-def]
    return Api(client, owner)


def test_unknown_paths_and_methods_answer_in_swr_form(api: Api) -> None:
    assert swr_error(api.get("/v2/manage/nothing-here")) == (404, "SVCSTG.SWR.4040083")
    assert swr_error(api.get("/v3/manage/nothing/here")) == (404, "SVCSTG.SWR.4040083")
    assert swr_error(api.call("PUT", "/v2/manage/namespaces")) == (405, "SVCSTG.SWR.4000014")
    assert swr_error(api.get("/v9")) == (404, "SVCSTG.SWR.4040083")


def test_bodies_that_are_not_json_are_400_with_4001018(api: Api, client: Client) -> None:
    broken = client.post(
        "/v2/manage/namespaces",
        data="{not json",
        content_type="application/json",
        headers=api.headers,
    )
    assert swr_error(broken) == (400, "SVCSTG.SWR.4001018")
    form = client.post("/v2/manage/namespaces", {"namespace": "x"}, headers=api.headers)
    assert swr_error(form) == (400, "SVCSTG.SWR.4001018")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_an_oversized_body_is_413(api: Api) -> None:
    assert swr_error(api.post("/v2/manage/namespaces", {"namespace": "x" * 2000})) == (
        413,
        "SVCSTG.SWR.4131001",
    )


def test_versions_answer_api_clients_and_the_page_answers_browsers(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    versions = client.get("/", headers={"Accept": "application/json"})
    assert [v["id"] for v in versions.json()["versions"]] == ["v2", "v3"]
    assert versions.json()["versions"][0]["links"] == {
        "href": "http://testserver/v2",
        "rel": "self",
    }
    assert client.get("/v3").json()["version"]["status"] == "SUPPORTED"
    client.force_login(owner)
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*"})
    assert page.status_code == 200 and "Overview" in page.content.decode()


def test_the_openapi_document_describes_the_api(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/v2/manage/namespaces" in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert {"XAuthToken", "AkSkSignature", "Session"} <= set(schemes)


# -- list parameters -------------------------------------------------------------------------------


def _query(text: str, **kwargs: Any) -> ListQuery:
    request = Request(APIRequestFactory().get("/v2/manage/repos?" + text))
    return list_query(
        request, keys=("name", "namespace"), columns=("name", "updated_time"), **kwargs
    )


def test_list_parameters_default_and_filter_wins() -> None:
    plain = _query("name=app")
    assert (plain.offset, plain.limit, plain.order_column, plain.paged) == (0, 100, None, False)
    chosen = _query("offset=20&limit=10&order_column=name&order_type=asc&name=x")
    assert (chosen.offset, chosen.limit, chosen.order_column, chosen.descending) == (
        20,
        10,
        "name",
        False,
    )
    assert chosen.get("name") == "x" and chosen.window(100) == slice(20, 30)
    filtered = _query("name=ignored&filter=name::app|offset::5|limit::5")
    assert (filtered.get("name"), filtered.offset, filtered.limit) == ("app", 5, 5)
    everything = _query("", default_limit=None)
    assert everything.limit is None and everything.window(7) == slice(0, 7)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("limit=0", "SVCSTG.SWR.4000056"),
        ("limit=1001", "SVCSTG.SWR.4000056"),
        ("limit=ten", "SVCSTG.SWR.4000056"),
        ("offset=-1&limit=10", "SVCSTG.SWR.4000014"),
        ("offset=x&limit=10", "SVCSTG.SWR.4000014"),
        ("order_column=name", "SVCSTG.SWR.4000014"),
        ("order_type=asc", "SVCSTG.SWR.4000014"),
        ("order_column=size&order_type=asc", "SVCSTG.SWR.4000014"),
        ("order_column=name&order_type=up", "SVCSTG.SWR.4000014"),
        ("filter=name", "SVCSTG.SWR.4001035"),
        ("filter=owner::me", "SVCSTG.SWR.4001035"),
        ("filter=::x", "SVCSTG.SWR.4001035"),
    ],
)
def test_bad_list_parameters_are_refused(text: str, code: str) -> None:
    with pytest.raises(ServiceError) as refused:
        _query(text)
    assert (refused.value.code, refused.value.status) == (code, 400)


def test_a_required_page_needs_both_offset_and_limit() -> None:
    with pytest.raises(ServiceError):
        _query("limit=10", require_page=True)
    assert _query("filter=offset::0|limit::10", require_page=True).limit == 10


def test_content_range_is_offset_count_total() -> None:
    from rest_framework.response import Response

    assert content_range(Response(), offset=20, count=10, total=95)["Content-Range"] == "20-10/95"
