"""Tag reads for the repository page and the API: pages by number, pages after a marker
(SWR's v3 list and references), tag names per repository, and cosign signatures."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property

from dashboard.models import Manifest, Repository, Tag

SORTS: dict[str, tuple[str, ...]] = {
    "-pushed": ("-pushed_at", "name"),
    "pushed": ("pushed_at", "name"),
    "name": ("name",),
    "-name": ("-name",),
}
DEFAULT_SORT = "-pushed"
#: What a row of the tags table shows; anything else would be a query per row.
TABLE_FIELDS = (
    "repository",
    "name",
    "pushed_at",
    "pushed_by",
    "manifest",
    "manifest__digest",
    "manifest__media_type",
    "manifest__size",
    "manifest__created",
    "manifest__os",
    "manifest__architecture",
    "manifest__variant",
    "manifest__platforms",
)
#: What the API's tag objects show: the table's fields and the image (config) digest.
API_FIELDS = (*TABLE_FIELDS, "manifest__config_digest")
#: The same with the manifest's raw text.
API_FIELDS_WITH_MANIFEST = (*API_FIELDS, "manifest__raw")
#: The API's `order_column`s for tags and the field each sorts by.
API_COLUMNS = {"updated_at": "pushed_at", "tag": "name"}
#: cosign stores the signature of image `sha256:<hex>` as tag `sha256-<hex>.sig`.
COSIGN_SIGNATURE = "sha256-{hex}.sig"


class MarkerError(ValueError):
    """A marker this list did not hand out (or one for another order)."""


def _encode_marker(parts: list[Any]) -> str:
    text = json.dumps(parts, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_marker(marker: str, size: int) -> list[Any]:
    try:
        padded = marker + "=" * (-len(marker) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise MarkerError("The marker is not one this list handed out.") from exc
    if not isinstance(parts, list) or len(parts) != size:
        raise MarkerError("The marker is not one this list handed out.")
    return parts


def tag_list(
    *,
    repository: Repository,
    query: str = "",
    sort: str = DEFAULT_SORT,
    fields: Sequence[str] = TABLE_FIELDS,
) -> QuerySet[Tag]:
    """The repository's tags with their manifests, newest push first unless `sort` says otherwise.

    `query` matches tag names (substring). Only `fields` are loaded (by default what the tags
    table shows: no raw manifest, config, layers or labels). One query per evaluation.
    """
    qs = Tag.objects.filter(repository=repository).select_related("manifest").only(*fields)
    if query:
        qs = qs.filter(name__icontains=query.strip())
    return qs.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


class _CountedPaginator(Paginator):
    """A paginator told its total instead of counting it."""

    def __init__(self, object_list: QuerySet[Any], per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def tag_page(
    *,
    repository: Repository,
    number: str | int | None,
    per_page: int,
    query: str = "",
    sort: str = DEFAULT_SORT,
) -> Page:
    """Page `number` of `tag_list(...)` (invalid numbers give the first page, numbers past the
    end the last one).

    Unfiltered, the total comes from the repository's maintained `tag_count` instead of a
    COUNT over all its tags (most of the query time of a big repository). It is trusted only
    for a full page that is not the last: the last page, a short page (the counter ahead of the
    index) and filtered lists are counted exactly. One query, two when counting.
    """
    tags = tag_list(repository=repository, query=query, sort=sort)
    if not query and repository.tag_count > per_page:
        page = _CountedPaginator(tags, per_page, repository.tag_count).get_page(number)
        if page.has_next() and len(page.object_list) == per_page:
            return page
    return Paginator(tags, per_page).get_page(number)


def tag_get(*, repository: Repository, name: str) -> Tag | None:
    """One tag with its full manifest, or None."""
    return Tag.objects.filter(repository=repository, name=name).select_related("manifest").first()


def manifest_get(*, repository: Repository, digest: str) -> Manifest | None:
    """One manifest of the repository by digest, or None."""
    return Manifest.objects.filter(repository=repository, digest=digest).first()


def tags_on_manifest(
    *, repository: Repository, digest: str, limit: int = 20
) -> tuple[list[str], int]:
    """The first `limit` names (sorted) of the tags pointing at `digest`, and how many there
    are. One query, two when there are more than `limit`."""
    qs = Tag.objects.filter(repository=repository, manifest__digest=digest)
    names = list(qs.order_by("name").values_list("name", flat=True)[: limit + 1])
    if len(names) <= limit:
        return names, len(names)
    return names[:limit], qs.count()


def manifest_digests_indexed(*, repository: Repository, digests: list[str]) -> set[str]:
    """Which of `digests` the index has for `repository` (e.g. the platforms of an index)."""
    if not digests:
        return set()
    return set(
        Manifest.objects.filter(repository=repository, digest__in=digests).values_list(
            "digest", flat=True
        )
    )


def tag_page_after(
    *,
    repository: Repository,
    marker: str | None,
    limit: int,
    query: str = "",
    column: str = "updated_at",
    descending: bool = True,
    fields: Sequence[str] = API_FIELDS,
) -> tuple[list[Tag], str | None]:
    """Up to `limit` tags after `marker` in the order of `column` (API_COLUMNS), and the
    marker of the next page (None at the end).

    Keyset paging on (pushed time, id) or the name, never an offset: tags pushed or deleted
    between two pages neither repeat nor push others out of the list. Raises MarkerError for a
    marker this order did not hand out. One query.
    """
    field = API_COLUMNS[column]
    direction = "desc" if descending else "asc"
    order = (f"-{field}", "-id") if descending else (field, "id")
    qs = tag_list(repository=repository, query=query, fields=fields).order_by(*order)
    if marker:
        got_column, got_direction, value, last_id = _decode_marker(marker, 4)
        if (got_column, got_direction) != (column, direction) or not isinstance(last_id, int):
            raise MarkerError("The marker belongs to another order; start again without it.")
        text = value if isinstance(value, str) else None
        after = parse_datetime(text) if field == "pushed_at" and text is not None else text
        if after is None:
            raise MarkerError("The marker is not one this list handed out.")
        beyond = "lt" if descending else "gt"
        qs = qs.filter(
            Q(**{f"{field}__{beyond}": after}) | Q(**{field: after, f"id__{beyond}": last_id})
        )
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    value = last.pushed_at.isoformat() if field == "pushed_at" else last.name
    return rows[:limit], _encode_marker([column, direction, value, last.pk])


def tag_names_by_repository(*, repository_ids: Iterable[int]) -> dict[int, list[str]]:
    """Every tag name of each repository, sorted. One query."""
    names: dict[int, list[str]] = {}
    rows = Tag.objects.filter(repository_id__in=list(repository_ids)).order_by(
        "repository_id", "name"
    )
    for repository_id, name in rows.values_list("repository_id", "name"):
        names.setdefault(repository_id, []).append(name)
    return names


def signed_digest(name: str) -> str | None:
    """The image digest a cosign signature tag `sha256-<hex>.sig` signs, or None."""
    prefix, suffix = "sha256-", ".sig"
    hex_part = name[len(prefix) : -len(suffix)] if name.endswith(suffix) else ""
    if not name.startswith(prefix) or len(hex_part) != 64:
        return None
    if any(c not in "0123456789abcdef" for c in hex_part):
        return None
    return f"sha256:{hex_part}"


def signature_tags(*, repository: Repository, digest: str) -> QuerySet[Tag]:
    """The cosign signature tags of image `digest` in the repository, with their manifests."""
    name = COSIGN_SIGNATURE.format(hex=digest.removeprefix("sha256:"))
    return (
        Tag.objects.filter(repository=repository, name=name)
        .select_related("manifest")
        .only("id", "name", "pushed_at", "manifest__digest", "manifest__size")
        .order_by("name")
    )


def tag_names_on_manifest_after(
    *, repository: Repository, digest: str, marker: str | None, limit: int
) -> tuple[list[str], str | None]:
    """Up to `limit` names (sorted) of the tags pointing at `digest`, after `marker`; and the
    marker of the next page (None at the end). Raises MarkerError. One query."""
    qs = Tag.objects.filter(repository=repository, manifest__digest=digest).order_by("name")
    if marker:
        (after,) = _decode_marker(marker, 1)
        if not isinstance(after, str):
            raise MarkerError("The marker is not one this list handed out.")
        qs = qs.filter(name__gt=after)
    names = list(qs.values_list("name", flat=True)[: limit + 1])
    if len(names) <= limit:
        return names, None
    return names[:limit], _encode_marker([names[limit - 1]])
