"""Small display helpers for Berth's templates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django import template
from django.http import QueryDict

from dashboard.models import Level

register = template.Library()


@register.filter
def short_digest(digest: str, length: int = 12) -> str:
    """`sha256:0123456789abcdef…` → `0123456789ab`, as registry UIs show digests."""
    _algorithm, _, hex_part = (digest or "").partition(":")
    return (hex_part or digest or "")[:length]


@register.filter
def platform(item: Mapping[str, Any] | Any) -> str:
    """`linux/arm64/v8` from a platform dict or a Manifest."""
    get = (
        item.get
        if isinstance(item, Mapping)
        else lambda key, default="": getattr(item, key, default)
    )
    parts = [get("os", ""), get("architecture", ""), get("variant", "")]
    return "/".join(part for part in parts if part) or "unknown"


@register.filter
def level_label(level: int) -> str:
    """Read / Write / Manage, or an empty string for no grant."""
    try:
        return "" if not level else Level(level).label
    except ValueError:
        return str(level)


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON for a parsed value or a JSON text; other text unchanged."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False)


@register.simple_tag(takes_context=True)
def query(context: template.Context, params: QueryDict | None = None, **changes: Any) -> str:
    """A query string: `params` (default: the request's) with `changes` applied ("" or None
    removes a key), e.g. `?{% query page=3 %}` keeps the filters while paging."""
    base = params if isinstance(params, QueryDict) else context["request"].GET
    params = QueryDict(mutable=True)
    for key, values in base.lists():
        params.setlist(key, values)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return urlencode(sorted(params.lists()), doseq=True)
