"""Repository reads for the pages and the API: the image list, one organization's images, the
shared images, and pages after a marker (SWR's v3 lists)."""

from __future__ import annotations

from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from dashboard.models import Category, Organization, Repository, Share
from dashboard.services.access import AnyUser, repositories_visible_to

#: Sort keys the image list offers, as SWR's `order_column` (updated time, name, tag count).
SORTS: dict[str, tuple[str, ...]] = {
    "-updated": ("-updated_at", "organization__name", "name"),
    "updated": ("updated_at", "organization__name", "name"),
    "name": ("organization__name", "name"),
    "-name": ("-organization__name", "-name"),
    "-tags": ("-tag_count", "organization__name", "name"),
    "tags": ("tag_count", "organization__name", "name"),
    # The API's other `order_column`s (SWR: namespace, is_public).
    "namespace": ("organization__name", "name"),
    "-namespace": ("-organization__name", "name"),
    "public": ("is_public", "organization__name", "name"),
    "-public": ("-is_public", "organization__name", "name"),
}
DEFAULT_SORT = "-updated"
VISIBILITIES = ("public", "private")
#: The image list's share views (`?shared=`): shares with the user's teams, shares they made.
SHARED_VIEWS = ("with-me", "by-me")
#: SWR's `center` (v2) / `shared_by` (v3): shared by the user, shared with the user's teams.
SHARED_CENTERS = ("self", "thirdparty")


def repository_list_for_user(
    *,
    user: AnyUser,
    query: str = "",
    organization: Organization | str | None = None,
    organization_query: str = "",
    category: str = "",
    visibility: str = "",
    sort: str = DEFAULT_SORT,
) -> QuerySet[Repository]:
    """Repositories `user` can see, filtered and sorted; with their organization joined.

    `query` matches the name (substring, case-insensitive); `organization` is an object or a
    name; `organization_query` matches the organization's name (substring, as SWR's
    `namespace` filter); unknown `category`, `visibility` or `sort` values are ignored. One
    query per evaluation (plus one `count()` when paginated).
    """
    qs = repositories_visible_to(user=user).select_related("organization")
    return _filtered(
        qs,
        query=query,
        organization=organization,
        organization_query=organization_query,
        category=category,
        visibility=visibility,
    ).order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


def _filtered(
    qs: QuerySet[Repository],
    *,
    query: str = "",
    organization: Organization | str | None = None,
    organization_query: str = "",
    category: str = "",
    visibility: str = "",
) -> QuerySet[Repository]:
    if query:
        qs = qs.filter(name__icontains=query.strip())
    if isinstance(organization, Organization):
        qs = qs.filter(organization=organization)
    elif organization:
        qs = qs.filter(organization__name=organization)
    if organization_query:
        qs = qs.filter(organization__name__icontains=organization_query.strip())
    if category in Category.values:
        qs = qs.filter(category=category)
    if visibility in VISIBILITIES:
        qs = qs.filter(is_public=visibility == "public")
    return qs


def repository_list_shared_for_user(
    *,
    user: AnyUser,
    center: str,
    query: str = "",
    organization: str = "",
    organization_query: str = "",
    valid: bool | None = None,
    sort: str = DEFAULT_SORT,
) -> QuerySet[Repository]:
    """SWR's shared images, each repository once, annotated `share_valid`.

    `center` "self": repositories with a share the user made (`share_valid` is False: SWR
    calls it meaningless there, and `valid` is ignored); "thirdparty": repositories shared
    with any of the user's teams, expired shares included, `share_valid` when one of those
    shares still grants pull (`valid` filters on it). Other filters and `sort` as
    `repository_list_for_user`. One query per evaluation.
    """
    if not user.is_authenticated or center not in SHARED_CENTERS:
        return Repository.objects.none()
    qs: QuerySet[Repository]
    if center == "self":
        mine = Share.objects.filter(repository=OuterRef("pk"), created_by=user.pk)
        qs = Repository.objects.filter(Exists(mine)).annotate(
            share_valid=Value(False, output_field=BooleanField())
        )
    else:
        with_teams = Share.objects.filter(
            repository=OuterRef("pk"),
            team__in=user.groups.values("id"),  # type: ignore[union-attr]
        )
        unexpired = Q(deadline__isnull=True) | Q(deadline__gt=timezone.now())
        qs = Repository.objects.filter(Exists(with_teams)).annotate(
            share_valid=Exists(with_teams.filter(unexpired))
        )
        if valid is not None:
            qs = qs.filter(share_valid=valid)
    qs = _filtered(
        qs.select_related("organization"),
        query=query,
        organization=organization,
        organization_query=organization_query,
    )
    return qs.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


def repository_page_after(
    *, repositories: QuerySet[Repository], after: int | None, limit: int
) -> tuple[list[Repository], int | None]:
    """Up to `limit` of `repositories` in id order, after id `after`; and the id to continue
    after when more follow (None at the end).

    Keyset paging: a repository created meanwhile comes later, so no page repeats or skips
    one. One query.
    """
    qs = repositories.order_by("id")
    if after is not None:
        qs = qs.filter(id__gt=after)
    rows = list(qs[: limit + 1])
    return rows[:limit], rows[limit - 1].pk if len(rows) > limit else None
