"""Organizations (SWR namespaces): naming rules, create and delete.

SWR-SPEC.md §1.2 and §2.2: names are 1 to 64 characters, region-global, `library` is reserved; a
user may create `settings.ORG_QUOTA` organizations (superusers are not limited); the creator
holds Manage; only an empty organization can be deleted.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.db import IntegrityError, transaction

from dashboard.models import Level, Organization, OrganizationPermission
from dashboard.services.access import AnyUser, can_create_organization, require_organization_level
from dashboard.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

from dashboard.services.errors import (
    FORBIDDEN_ORG,
    INVALID_ORG_NAME,
    ORG_EXISTS,
    ORG_NOT_EMPTY,
    ORG_QUOTA_EXCEEDED,
    ServiceError,
)

MAX_LENGTH = 64
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:(?:[._]|__|-+)[a-z0-9]+)*$")
#: `library` is SWR's; `manage` would put repositories under `/v2/manage/`, which the proxy
#: sends to Berth's SWR API instead of the registry.
RESERVED = frozenset({"library", "manage"})


def organization_name_error(name: str) -> str | None:
    """Why `name` cannot be an organization name (SWR's rule), or None when it can."""
    if not name:
        return "The organization name is required."
    if len(name) > MAX_LENGTH:
        return f"The organization name must be at most {MAX_LENGTH} characters."
    if not re.fullmatch(r"[a-z0-9._-]+", name):
        return "Only lowercase letters, digits, periods (.), underscores (_) and hyphens (-)."
    if not name[0].isalpha():
        return "The organization name must start with a lowercase letter."
    if not name[-1].isalnum():
        return "The organization name must end with a lowercase letter or digit."
    if "___" in name:
        return "At most two consecutive underscores (_) are allowed."
    if not NAME_RE.match(name):
        return "Periods (.), underscores (_) and hyphens (-) may not be next to each other."
    if name in RESERVED:
        return f"The name {name!r} is reserved."
    return None


def organization_quota(*, user: AnyUser) -> tuple[int, int | None]:
    """How many organizations `user` created, and how many they may (None: unlimited)."""
    if not user.is_authenticated:
        return 0, 0
    used = Organization.objects.filter(creator=user.pk).count()
    return used, None if user.is_superuser else settings.ORG_QUOTA


def organization_create(*, name: str, actor: AnyUser) -> Organization:
    """Create an organization; `actor` becomes its manager.

    Raises ServiceError: 4001028 (400) invalid or reserved name, 4037017 (403) when the actor may
    not create organizations, 4000097 (400) over the per-user quota, 4090060 (409) when the
    name is taken, also by an organization the actor cannot see.
    """
    problem = organization_name_error(name)
    if problem is not None:
        raise ServiceError(INVALID_ORG_NAME, f"Invalid organization name: {problem}", 400)
    if not can_create_organization(user=actor):
        raise ServiceError(FORBIDDEN_ORG, "You may not create organizations.", 403)
    creator = cast("User", actor)  # signed in and active, as checked above
    with transaction.atomic():
        created, quota = organization_quota(user=creator)
        if quota is not None and created >= quota:
            raise ServiceError(
                ORG_QUOTA_EXCEEDED,
                f"The maximum number of organizations has been exceeded ({quota} per user).",
                400,
            )
        if Organization.objects.filter(name=name).exists():
            raise _exists(name)
        try:
            with transaction.atomic():
                organization = Organization.objects.create(name=name, creator=creator)
        except IntegrityError:
            # Created by someone else between the check and the insert.
            raise _exists(name) from None
        OrganizationPermission.objects.create(
            organization=organization, user=creator, level=Level.MANAGE
        )
        audit_record(
            action="createUserNamespace",
            resource_type="usernamespace",
            resource_name=name,
            organization=name,
            actor=actor,
        )
    return organization


def _exists(name: str) -> ServiceError:
    return ServiceError(ORG_EXISTS, f"The organization {name!r} already exists.", 409)


def organization_delete(*, organization: Organization, actor: AnyUser) -> None:
    """Delete an empty organization and its grants.

    Raises ServiceError: 4037017 (403) without Manage, 4060074 (406) while it has repositories.
    """
    require_organization_level(user=actor, organization=organization, level=Level.MANAGE)
    with transaction.atomic():
        if organization.repositories.exists():
            raise ServiceError(
                ORG_NOT_EMPTY,
                f"The organization {organization.name!r} cannot be deleted because there are "
                "images in it. Delete its repositories first.",
                406,
            )
        organization.delete()
        audit_record(
            action="deleteUserNamespace",
            resource_type="usernamespace",
            resource_name=organization.name,
            organization=organization.name,
            actor=actor,
        )
