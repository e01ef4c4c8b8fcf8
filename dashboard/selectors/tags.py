"""Tag reads for the repository page."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
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


def tag_list(*, repository: Repository, query: str = "", sort: str = DEFAULT_SORT) -> QuerySet[Tag]:
    """The repository's tags with their manifests, newest push first unless `sort` says otherwise.

    `query` matches tag names (substring). Only what the tags table shows is loaded (no raw
    manifest, config, layers or labels). One query per evaluation.
    """
    qs = Tag.objects.filter(repository=repository).select_related("manifest").only(*TABLE_FIELDS)
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
