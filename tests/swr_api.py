"""What the SWR API tests share: a test client that sends JSON with an API token, the SWR error
body reader, and the official SDK (`huaweicloudsdkswr`) pointed at the live server with a Berth
access key."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkswr.v2 import SwrClient

from dashboard.services.credentials import access_key_create, api_token_create


class Api:
    """Django's test client with `X-Auth-Token` and JSON bodies (SWR's are often bare arrays)."""

    def __init__(self, client: Client, user: Any = None) -> None:
        self.client = client
        self.headers: dict[str, str] = {}
        if user is not None:
            _, token = api_token_create(user=user, name="tests")
            self.headers["X-Auth-Token"] = token

    def call(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        data = json.dumps(body) if body is not None else ""
        return self.client.generic(
            method.upper(),
            path,
            data=data,
            content_type="application/json",
            headers={**self.headers, **extra.pop("headers", {})},
            **extra,
        )

    def get(self, path: str, **extra: Any) -> Any:
        return self.call("GET", path, **extra)

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.call("POST", path, body, **extra)

    def patch(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.call("PATCH", path, body, **extra)

    def delete(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.call("DELETE", path, body, **extra)


def swr_error(response: Any) -> tuple[int, str]:
    """(status, error_code) of an SWR error answer, checking both forms of the body agree."""
    body = response.json()
    assert body["errors"][0]["errorCode"] == body["error_code"], body
    assert body["error_msg"] and body["errors"][0]["errorMessage"] == body["error_msg"], body
    return response.status_code, body["error_code"]


def sdk_client(base_url: str, user: Any, *, region: str = "local") -> SwrClient:
    """The official SDK signing with a new access key of `user`, pointed at `base_url`."""
    key, secret = access_key_create(user=user)
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    config.timeout = (5, 30)
    return (
        SwrClient.new_builder()
        .with_credentials(BasicCredentials(key.access_key, secret, region))
        .with_endpoint(base_url)
        .with_http_config(config)
        .build()
    )
