"""Small display helpers for Berth's templates."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from dashboard.models import Level, Tag
from dashboard.services.retention import retention_rule_describe

register = template.Library()


@register.filter
def short_digest(digest: str, length: int = 12) -> str:
    """`sha256:0123456789abcdef…` → `0123456789ab`, as registry UIs show digests."""
    _algorithm, _, hex_part = (digest or "").partition(":")
    return (hex_part or digest or "")[:length]


@register.filter
def retention_rule(rule_type: str) -> str:
    """A retention log's rule (SWR's JSON string) in words."""
    return retention_rule_describe(rule_type)


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


#: One tags-table row. Built in Python: the template engine spent most of a 25-row page
#: resolving variables. `_tag_row` escapes every value it puts in.
_TAG_ROW = (
    '<tr data-tag="{name}">{check}'
    '<td><a class="fw-semibold font-monospace text-decoration-none" href="{url}">{name}</a></td>'
    '<td class="text-nowrap"><code title="{digest}">{short}</code>\n'
    '  <button type="button" class="btn btn-link btn-sm p-0 ms-1 align-baseline" '
    'data-copy="{digest}" title="Copy digest" aria-label="Copy digest of {name}">'
    '<i class="bi bi-clipboard"></i></button></td>'
    '<td class="text-end text-nowrap">{size}</td>'
    '<td class="small">{platform}</td>'
    '<td class="text-nowrap small">{created}</td>'
    '<td class="text-nowrap small">'
    '<time datetime="{pushed_iso}" title="{pushed_iso}">{pushed}</time>{pushed_by}</td>'
    '<td class="text-end text-nowrap">\n'
    '  <button type="button" class="btn btn-outline-secondary btn-sm" data-copy="{pull}" '
    'title="Copy docker pull command" aria-label="Copy pull command for {name}">'
    '<i class="bi bi-terminal"></i></button>{delete}</td></tr>\n'
)
_TAG_CHECK = (
    '<td class="berth-check"><input class="form-check-input" type="checkbox" name="tag" '
    'value="{}" aria-label="Select {}" data-tag-check></td>'
)
_TAG_DELETE = (
    '\n  <a class="btn btn-outline-danger btn-sm" href="{}" title="Delete tag {}" '
    'aria-label="Delete tag {}" data-delete-tag="{}" hx-get="{}&amp;page={}" '
    'hx-include="#tag-filters" hx-target="#berth-modal-content"><i class="bi bi-trash"></i></a>'
)
_PLATFORM_BADGE = '<span class="badge text-bg-light border me-1">{}</span>'
_CREATED = '<time datetime="{}">{}</time>'
_NO_DATE = '<span class="text-body-secondary">—</span>'
_PUSHED_BY = '<span class="text-body-secondary"> by {}</span>'


@register.simple_tag
def tag_rows(
    tags: Iterable[Tag], *, repository_url: str, pull_prefix: str, can_manage: bool, page: int
) -> SafeString:
    """The `<tr>` rows of the repository page's tags table: links under `repository_url`, a
    copyable `pull_prefix` + tag name, and a checkbox and delete link when `can_manage`."""
    return mark_safe(
        "".join(
            _tag_row(tag, repository_url, pull_prefix, can_manage=can_manage, page=page)
            for tag in tags
        )
    )


def _tag_row(
    tag: Tag, repository_url: str, pull_prefix: str, *, can_manage: bool, page: int
) -> str:
    """One row's HTML, every value escaped (the standard library's escape, as Django's escape
    does, without its lazy-string checks: this runs for every value of every row)."""
    manifest = tag.manifest
    name = escape(tag.name)
    if manifest.is_index:
        platform_html = (
            "".join(_PLATFORM_BADGE.format(escape(platform(p))) for p in manifest.platforms)
            or "index"
        )
    else:
        platform_html = escape(platform(manifest))
    created = manifest.created
    pushed_at = tag.pushed_at
    pushed_iso = escape(pushed_at.isoformat())
    digest = escape(manifest.digest)
    delete = ""
    if can_manage:
        url = escape(f"{repository_url}-/delete-tags/?tag={quote(tag.name, safe='/')}")
        delete = _TAG_DELETE.format(url, name, name, name, url, page)
    return _TAG_ROW.format(
        name=name,
        check=_TAG_CHECK.format(name, name) if can_manage else "",
        url=escape(f"{repository_url}-/tags/{tag.name}/"),
        digest=digest,
        short=escape(short_digest(manifest.digest)),
        size=escape(filesizeformat(manifest.size)),
        platform=platform_html,
        created=(
            _CREATED.format(
                escape(created.isoformat()), escape(localtime(created).date().isoformat())
            )
            if created
            else _NO_DATE
        ),
        pushed_iso=pushed_iso,
        pushed=escape(naturaltime(pushed_at)),
        pushed_by=_PUSHED_BY.format(escape(tag.pushed_by)) if tag.pushed_by else "",
        pull=escape(pull_prefix + tag.name),
        delete=delete,
    )
