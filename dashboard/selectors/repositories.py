"""Repository reads for the pages: the image list and one organization's images."""

from __future__ import annotations

from django.db.models import QuerySet

from dashboard.models import Category, Organization, Repository
from dashboard.services.access import AnyUser, repositories_visible_to

#: Sort keys the image list offers, as SWR's `order_column` (updated time, name, tag count).
SORTS: dict[str, tuple[str, ...]] = {
    "-updated": ("-updated_at", "organization__name", "name"),
    "updated": ("updated_at", "organization__name", "name"),
    "name": ("organization__name", "name"),
    "-name": ("-organization__name", "-name"),
    "-tags": ("-tag_count", "organization__name", "name"),
    "tags": ("tag_count", "organization__name", "name"),
}
DEFAULT_SORT = "-updated"
VISIBILITIES = ("public", "private")
#: The image list's share views (`?shared=`): shares with the user's teams, shares they made.
SHARED_VIEWS = ("with-me", "by-me")


def repository_list_for_user(
    *,
    user: AnyUser,
    query: str = "",
    organization: Organization | str | None = None,
    category: str = "",
    visibility: str = "",
    sort: str = DEFAULT_SORT,
) -> QuerySet[Repository]:
    """Repositories `user` can see, filtered and sorted; with their organization joined.

    `query` matches the name (substring, case-insensitive); `organization` is an object or a
    name; unknown `category`, `visibility` or `sort` values are ignored. One query per
    evaluation (plus one `count()` when paginated).
    """
    qs = repositories_visible_to(user=user).select_related("organization")
    if query:
        qs = qs.filter(name__icontains=query.strip())
    if isinstance(organization, Organization):
        qs = qs.filter(organization=organization)
    elif organization:
        qs = qs.filter(organization__name=organization)
    if category in Category.values:
        qs = qs.filter(category=category)
    if visibility in VISIBILITIES:
        qs = qs.filter(is_public=visibility == "public")
    return qs.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))
