"""Organization reads for the pages."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from dashboard.models import Level, Organization
from dashboard.services.access import (
    AnyUser,
    organization_level_expression,
    organizations_visible_to,
    repositories_visible_to,
)


def organization_list_for_user(*, user: AnyUser) -> QuerySet[Organization]:
    """Organizations `user` can see, by name, each with `repository_count` (repositories the
    user can see in it) and `user_level` (the user's org-level permission, 0 if none).

    One query for the whole list.
    """
    counts = (
        repositories_visible_to(user=user)
        .filter(organization=OuterRef("pk"))
        .order_by()
        .values("organization")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        organizations_visible_to(user=user)
        .select_related("creator")
        .annotate(
            repository_count=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0)),
            user_level=organization_level_expression(user=user),
        )
        .order_by("name")
    )


def organization_names_writable_by(*, user: AnyUser) -> list[str]:
    """Names of the organizations `user` may push into (org-level Write or Manage), by name."""
    return list(
        organizations_visible_to(user=user)
        .alias(user_level=organization_level_expression(user=user))
        .filter(user_level__gte=Level.WRITE)
        .order_by("name")
        .values_list("name", flat=True)
    )
