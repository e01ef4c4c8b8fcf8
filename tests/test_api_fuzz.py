"""The SWR API fuzzed from its own OpenAPI document (schemathesis): for generated requests,
valid and not, Berth never answers 500, answers only the statuses and content types the
document declares, and every body matches the document. Runs as an administrator (every
operation reachable) through the WSGI application in the test's own database transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dashboard.services.credentials import api_token_create

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """The WSGI handler closes the database connection after each request; the test's
    transaction lives on it (Django's own test client disconnects the same signal)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_headers(admin_user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _, token = api_token_create(user=admin_user, name="fuzz")
    return {"X-Auth-Token": token, "Host": "127.0.0.1"}


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db
def test_no_request_breaks_the_api(case: schemathesis.Case, api_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=api_headers, checks=CHECKS)
