"""Repositories (SWR images): naming rules, creating an empty one, and the attributes users
edit after a push.

SWR-SPEC.md §1.3 and §2.4: names are 1 to 128 characters and may contain `/`; `is_public`,
`category` and `description` (at most 30,000 characters) are editable with Write permission.
A push creates its repository; the API may create one empty (Write on the organization, as a
push into it needs).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.models import Category, Level, Organization, Repository
from dashboard.services.access import (
    AnyUser,
    require_organization_level,
    require_repository_level,
)
from dashboard.services.audit import audit_record
from dashboard.services.errors import (
    DESCRIPTION_TOO_LONG,
    IMAGE_EXISTS,
    INVALID_IMAGE_NAME,
    INVALID_PARAMETERS,
    ServiceError,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_LENGTH = 128
MAX_DESCRIPTION = 30_000
NAME_RE = re.compile(r"^[a-z0-9]+(?:(?:[._/]|__|-+)[a-z0-9]+)*$")


def repository_name_error(name: str) -> str | None:
    """Why `name` cannot be a repository name (SWR's rule), or None when it can."""
    if not name:
        return "The image name is required."
    if len(name) > MAX_LENGTH:
        return f"The image name must be at most {MAX_LENGTH} characters."
    if not re.fullmatch(r"[a-z0-9._/-]+", name):
        return (
            "Only lowercase letters, digits, periods (.), slashes (/), underscores (_) "
            "and hyphens (-)."
        )
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "The image name must start and end with a lowercase letter or digit."
    if "___" in name:
        return "At most two consecutive underscores (_) are allowed."
    if not NAME_RE.match(name):
        return (
            "Periods (.), slashes (/), underscores (_) and hyphens (-) may not be next to "
            "each other."
        )
    return None


def _check_attributes(*, category: str, description: str) -> None:
    if category not in Category.values:
        raise ServiceError(
            INVALID_PARAMETERS,
            f"Unknown category {category!r}; use one of: {', '.join(Category.values)}.",
            400,
        )
    if len(description) > MAX_DESCRIPTION:
        raise ServiceError(
            DESCRIPTION_TOO_LONG,
            f"The description exceeds the maximum length allowed ({MAX_DESCRIPTION} characters).",
            413,
        )


def repository_create(
    *,
    organization: Organization,
    name: str,
    actor: AnyUser,
    is_public: bool,
    category: str = Category.OTHER,
    description: str = "",
) -> Repository:
    """Create the empty repository `organization/name` and return it; the actor is its creator.

    The registry has nothing to create: it knows a repository once something is pushed, and
    reconcile never removes index repositories. Raises ServiceError: 4037017 (403) without
    Write on the organization; 4001029 (400) for a name against SWR's rule; 4000014 (400) for
    an unknown category; 4131012 (413) for a description over 30,000 characters; 4090006 (409)
    when the repository exists.
    """
    require_organization_level(user=actor, organization=organization, level=Level.WRITE)
    problem = repository_name_error(name)
    if problem is not None:
        raise ServiceError(INVALID_IMAGE_NAME, problem, 400)
    _check_attributes(category=category, description=description)
    exists = ServiceError(
        IMAGE_EXISTS, f"The image {organization.name}/{name} already exists.", 409
    )
    if Repository.objects.filter(organization=organization, name=name).exists():
        raise exists
    now = timezone.now()
    try:
        with transaction.atomic():
            repository = Repository.objects.create(
                organization=organization,
                name=name,
                is_public=is_public,
                category=category,
                description=description,
                creator=cast("User", actor) if actor.is_authenticated else None,
                created_at=now,
                updated_at=now,
            )
            audit_record(
                action="createImageRepository",
                resource_type="imagerepository",
                resource_name=repository.full_name,
                organization=organization.name,
                actor=actor,
                detail={"is_public": is_public, "category": category},
            )
    except IntegrityError:
        # Pushed or created by someone else between the check and the insert.
        raise exists from None
    return repository


def repository_update(
    *,
    repository: Repository,
    actor: AnyUser,
    is_public: bool,
    category: str,
    description: str,
) -> Repository:
    """Set a repository's type (public/private), category and description; return it.

    `updated_at` keeps meaning "last push", as the image list sorts by it.
    Raises ServiceError: 4037018 (403) without Write, 4000014 (400) for an unknown category,
    4131012 (413) for a description over 30,000 characters.
    """
    require_repository_level(user=actor, repository=repository, level=Level.WRITE)
    _check_attributes(category=category, description=description)
    with transaction.atomic():
        repository.is_public = is_public
        repository.category = category
        repository.description = description
        repository.save(update_fields=["is_public", "category", "description"])
        audit_record(
            action="updateImageRepository",
            resource_type="imagerepository",
            resource_name=repository.full_name,
            organization=repository.organization.name,
            actor=actor,
            detail={"is_public": is_public, "category": category},
        )
    return repository
