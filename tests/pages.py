"""What the page tests share: htmx request headers and reading toasts from responses."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

#: Extra request headers that make the test client's request an htmx request.
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def toasts(response: HttpResponse) -> list[dict]:
    """The toasts a response sends back through `HX-Trigger`."""
    return json.loads(response["HX-Trigger"])["berth:toast"]["value"]
