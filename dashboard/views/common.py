"""What every page view shares: the access helpers, toasts for htmx, pagination."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from dashboard.models import Level, Organization, Repository
from dashboard.services.access import (
    organization_level,
    repositories_visible_to,
    repository_level,
)
from dashboard.services.errors import FORBIDDEN_IMAGE, FORBIDDEN_ORG, ServiceError


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for type checking)."""

    htmx: HtmxDetails


TOAST_EVENT = "berth:toast"
#: An element may ask for its errors inline by sending this header with the CSS id of a box.
ERROR_TARGET_HEADER = "X-Berth-Error-Target"
_ELEMENT_ID = re.compile(r"^#[A-Za-z][\w-]*$")


def get_organization_for_user(
    request: HttpRequest, name: str, need: int = Level.NONE
) -> tuple[Organization, int]:
    """The organization and the user's level on it.

    Raises Http404 when the user cannot see it (no grant and no visible repository in it), and
    ServiceError 4037017 (403) when it is visible but the level is below `need`.
    """
    organization = Organization.objects.filter(name=name).first()
    if organization is None:
        raise Http404("No such organization.")
    level = organization_level(user=request.user, organization=organization)
    if (
        level < Level.READ
        and not repositories_visible_to(user=request.user)
        .filter(organization=organization)
        .exists()
    ):
        raise Http404("No such organization.")
    if level < need:
        error = ServiceError(
            FORBIDDEN_ORG,
            f"You need {Level(need).label} permission on organization {organization.name}.",
            403,
        )
        raise _with_access_target(error, organization.name, level)
    return organization, level


def get_repository_for_user(
    request: HttpRequest, org: str, name: str, need: int = Level.READ
) -> tuple[Repository, int]:
    """The repository `org/name` and the user's effective level on it.

    Raises Http404 when the user cannot see it, and ServiceError 4037018 (403) when it is
    visible but the level is below `need`.
    """
    repository = (
        Repository.objects.select_related("organization")
        .filter(organization__name=org, name=name)
        .first()
    )
    if repository is None:
        raise Http404("No such repository.")
    level = repository_level(
        user=request.user, organization=repository.organization, repository=repository
    )
    if level < Level.READ:
        raise Http404("No such repository.")
    if level < need:
        error = ServiceError(
            FORBIDDEN_IMAGE,
            f"You need {Level(need).label} permission on {repository.full_name} for this.",
            403,
        )
        raise _with_access_target(error, repository.full_name, level)
    return repository, level


def _with_access_target(error: ServiceError, target: str, level: int) -> ServiceError:
    # The 403 page offers "Request access" on a target the user can see (middleware, error.html).
    error.access_target = target  # type: ignore[attr-defined]
    error.access_level = level  # type: ignore[attr-defined]
    return error


def repository_url(repository: Repository) -> str:
    """The repository page's address."""
    return reverse(
        "dashboard:repository-detail", args=[repository.organization.name, repository.name]
    )


def navigate(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Send the browser to `url`: a redirect, or for htmx a client-side one (`HX-Redirect`)."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def add_toast(response: HttpResponse, level: str, message: str, code: str = "") -> HttpResponse:
    """Ask the page (through `HX-Trigger`) to show a toast; several toasts may pile up."""
    try:
        data = json.loads(response.get("HX-Trigger", "{}"))
    except json.JSONDecodeError:
        data = {}
    toasts = data.get(TOAST_EVENT, {}).get("value", [])
    toasts.append({"level": level, "message": message, "code": code})
    data[TOAST_EVENT] = {"value": toasts}
    response["HX-Trigger"] = json.dumps(data)
    return response


def error_target(request: HttpRequest) -> str | None:
    """The element id (`#name`) the requesting element wants its errors in, if any."""
    target = request.headers.get(ERROR_TARGET_HEADER, "")
    return target if _ELEMENT_ID.match(target) else None


def paginate(items: QuerySet[Any], per_page: int, number: str | None) -> Page:
    """The page of `items` numbered `number` (invalid numbers give the first page, numbers past
    the end the last one)."""
    return Paginator(items, per_page).get_page(number)


def partial(request: HtmxHttpRequest, template: str, name: str) -> str:
    """The template for a full page, or its named partial for an htmx request."""
    htmx = request.htmx
    return f"{template}#{name}" if htmx and not htmx.history_restore_request else template


def registry_is_plain_http() -> bool:
    """Whether clients reach the registry over plain HTTP (`BERTH_REGISTRY_INSECURE`, else the
    scheme of `REGISTRY_URL`); they then need it under `insecure-registries`."""
    explicit = getattr(settings, "REGISTRY_INSECURE", None)
    if explicit is not None:
        return bool(explicit)
    return urlsplit(settings.REGISTRY_URL).scheme == "http"


@dataclass(frozen=True)
class Command:
    label: str
    text: str


def pull_commands(*, reference: str, private: bool, username: str) -> list[Command]:
    """Pull commands for docker, podman and containerd (ctr, nerdctl) for `reference`
    (`host/org/repo:tag` or `host/org/repo@digest`)."""
    insecure = registry_is_plain_http()
    user = f" --user {username}" if private else ""
    return [
        Command("docker", f"docker pull {reference}"),
        Command("podman", f"podman pull{' --tls-verify=false' if insecure else ''} {reference}"),
        Command(
            "containerd (ctr)",
            f"ctr image pull{' --plain-http' if insecure else ''}{user} {reference}",
        ),
        Command("nerdctl", f"nerdctl pull{' --insecure-registry' if insecure else ''} {reference}"),
    ]
