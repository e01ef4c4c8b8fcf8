"""Who may call the SWR API: an API token (`X-Auth-Token`), a request signed with an access key
exactly as Huawei Cloud's SDK signs it, or the browser session with its CSRF token. Everything
else is 401 with SWR's 4010000."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkswr.v2.model import (
    CreateNamespaceRequest,
    CreateNamespaceRequestBody,
    ListNamespacesRequest,
)

from dashboard.auth.signature import SignatureError, signature_verify
from dashboard.models import AccessKey, Organization
from dashboard.services.credentials import (
    access_key_create,
    access_key_set_active,
    api_token_create,
    api_token_revoke,
)
from tests.swr_api import Api, sdk_client, swr_error

URL = "/v2/manage/namespaces"


def _401(response: Any) -> None:
    assert swr_error(response) == (401, "SVCSTG.SWR.4010000")


# -- API tokens ------------------------------------------------------------------------------------


def test_no_credentials_get_401_with_swr_code(client: Client, db: None) -> None:
    _401(client.get(URL))
    _401(client.post(URL, {"namespace": "x"}, content_type="application/json"))


def test_a_valid_token_works_and_bad_revoked_or_expired_ones_do_not(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    token, text = api_token_create(user=owner, name="ci")
    assert client.get(URL, headers={"X-Auth-Token": text}).status_code == 200
    _401(client.get(URL, headers={"X-Auth-Token": text + "x"}))
    _401(client.get(URL, headers={"X-Auth-Token": "not-a-berth-token"}))
    api_token_revoke(token=token)
    _401(client.get(URL, headers={"X-Auth-Token": text}))
    _, soon = api_token_create(
        user=owner, name="short", expires_at=timezone.now() + dt.timedelta(1)
    )
    type(token).objects.filter(user=owner, name="short").update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    _401(client.get(URL, headers={"X-Auth-Token": soon}))


def test_a_deactivated_users_token_stops_working(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    api = Api(client, owner)
    assert api.get(URL).status_code == 200
    owner.is_active = False
    owner.save()
    _401(api.get(URL))


# -- the browser session ---------------------------------------------------------------------------


def test_the_session_works_for_reads_and_needs_csrf_for_changes(owner) -> None:  # type: ignore[no-untyped-def]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert browser.get(URL).status_code == 200
    refused = browser.post(URL, {"namespace": "no-csrf"}, content_type="application/json")
    assert swr_error(refused) == (403, "SVCSTG.SWR.4039002")
    page = browser.get("/api/")  # any page sets the CSRF cookie
    assert page.status_code == 200 and 'id="swagger-ui"' in page.content.decode()
    token = browser.cookies["csrftoken"].value
    created = browser.post(
        URL,
        {"namespace": "with-csrf"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert created.status_code == 201
    assert Organization.objects.filter(name="with-csrf").exists()


# -- signatures, against the SDK's own signer ------------------------------------------------------


def _signed(
    factory: RequestFactory,
    ak: str,
    sk: str,
    *,
    method: str = "GET",
    path: str = URL,
    query: list[tuple[str, object]] | None = None,
    body: bytes = b"",
    date: dt.datetime | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """A Django request carrying what huaweicloudsdkcore's Signer produces for it."""
    header_params = {
        "Content-Type": "application/json",
        "User-Agent": "sdk-test",
        **(headers or {}),
    }
    if date is not None:
        header_params["X-Sdk-Date"] = date.strftime("%Y%m%dT%H%M%SZ")
    request = SdkRequest(
        method=method,
        schema="http",
        host="testserver",
        resource_path=path,
        query_params=list(query or []),
        header_params=header_params,
        body=body,
    )
    Signer(BasicCredentials(ak, sk)).sign(request)
    built = factory.generic(method, request.uri, data=body, content_type="application/json")
    # As a real client's request arrives: Host and Content-Type always present.
    built.META["CONTENT_TYPE"] = "application/json"
    for name, value in request.header_params.items():
        if name.lower() != "content-type":
            built.META["HTTP_" + name.upper().replace("-", "_")] = value
    return built


@pytest.fixture
def key(owner) -> tuple[AccessKey, str]:  # type: ignore[no-untyped-def]
    return access_key_create(user=owner)


@pytest.mark.parametrize(
    ("path", "query", "body"),
    [
        (URL, [], b""),
        (URL, [("namespace", "team-a"), ("filter", "mode::visible|namespace::x y")], b""),
        ("/v2/manage/namespaces/team-a/repos/tools$busybox/tags", [("limit", 10)], b""),
        (URL, [], json.dumps({"namespace": "nsé"}).encode()),
    ],
)
def test_a_request_the_sdk_signed_is_verified(
    key: tuple[AccessKey, str], owner, path: str, query: list, body: bytes
) -> None:  # type: ignore[no-untyped-def]
    access_key, secret = key
    request = _signed(
        RequestFactory(),
        access_key.access_key,
        secret,
        path=path,
        query=query,
        body=body,
        method="POST" if body else "GET",
    )
    assert signature_verify(request) == owner
    access_key.refresh_from_db()
    assert access_key.last_used_at is not None


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong secret",
        "body changed",
        "query changed",
        "stale date",
        "future date",
        "disabled",
        "unsigned json",
    ],
)
def test_a_signature_that_does_not_hold_is_refused(key: tuple[AccessKey, str], tamper: str) -> None:
    access_key, secret = key
    factory = RequestFactory()
    now = timezone.now()
    body = json.dumps({"namespace": "team-a"}).encode()
    sk = secret + "x" if tamper == "wrong secret" else secret
    date = {
        "stale date": now - dt.timedelta(minutes=16),
        "future date": now + dt.timedelta(minutes=16),
    }.get(tamper)
    headers = {"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"} if tamper == "unsigned json" else {}
    request = _signed(
        factory,
        access_key.access_key,
        sk,
        method="POST",
        query=[("a", "1")],
        body=body,
        date=date,
        headers=headers,
    )
    if tamper == "body changed":
        request = factory.generic(
            "POST",
            request.get_full_path(),
            data=body.replace(b"a", b"b"),
            content_type="application/json",
            headers={
                k: v
                for k, v in request.headers.items()
                if k.lower().startswith(("x-sdk", "authorization", "user-agent"))
            },
        )
    if tamper == "query changed":
        request.META["QUERY_STRING"] = "a=2"
    if tamper == "disabled":
        access_key_set_active(key=access_key, active=False)
    with pytest.raises(SignatureError):
        signature_verify(request)


def test_a_signature_must_cover_host_and_date(key: tuple[AccessKey, str]) -> None:
    access_key, secret = key
    request = _signed(RequestFactory(), access_key.access_key, secret)
    authorization = request.headers["Authorization"].replace("host;", "")
    request.META["HTTP_AUTHORIZATION"] = authorization
    del request.headers  # a cached view of META
    with pytest.raises(SignatureError, match="host"):
        signature_verify(request)


# -- the official SDK over HTTP --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_official_sdk_signs_its_way_in(live_server, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    sdk = sdk_client(live_server.url, alice)
    sdk.create_namespace(
        CreateNamespaceRequest(body=CreateNamespaceRequestBody(namespace="sdk-ns"))
    )
    listed = sdk.list_namespaces(ListNamespacesRequest())
    assert [(n.name, n.auth, n.creator_name) for n in listed.namespaces] == [("sdk-ns", 7, "alice")]

    key = AccessKey.objects.get(user=alice)
    access_key_set_active(key=key, active=False)
    with pytest.raises(ClientRequestException) as refused:
        sdk.list_namespaces(ListNamespacesRequest())
    assert (refused.value.status_code, refused.value.error_code) == (401, "SVCSTG.SWR.4010000")
