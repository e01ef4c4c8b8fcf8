"""Access requests: ask from an organization, repository or 403 page; decide on /requests/.

Each form POST answers htmx with a toast (and, on /requests/, the list again) and without
JavaScript with a redirect. Refusals come from the services; the middleware shows them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dashboard.models import AccessRequest, Level, Organization, Repository
from dashboard.services.access_requests import (
    REQUEST_NOT_FOUND,
    access_request_approve,
    access_request_cancel,
    access_request_create,
    access_request_deny,
    pending_for_manager,
    requests_of,
)
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.views.common import HtmxHttpRequest, add_toast

PAGE = "dashboard/access_requests.html"

#: Levels offered by the "Request access" form.
LEVELS = [(Level.READ.value, "Read"), (Level.WRITE.value, "Write"), (Level.MANAGE.value, "Manage")]


def request_levels(level: int) -> list[tuple[int, str]]:
    """The levels worth asking for by someone who holds `level`."""
    return [(value, label) for value, label in LEVELS if value > level]


def _target(name: str) -> tuple[Organization | None, Repository | None]:
    """The organization `org` or repository `org/repo` named; 4000014 (400) when unknown."""
    org, sep, repo = name.strip().partition("/")
    if sep:
        repository = (
            Repository.objects.select_related("organization")
            .filter(organization__name=org, name=repo)
            .first()
        )
        if repository is not None:
            return None, repository
    else:
        organization = Organization.objects.filter(name=org).first()
        if organization is not None:
            return organization, None
    raise ServiceError(INVALID_PARAMETERS, f"There is no organization or image {name!r}.", 400)


def _context(request: HtmxHttpRequest) -> dict[str, Any]:
    return {
        "decisions": list(pending_for_manager(user=request.user)),
        "mine": list(requests_of(user=request.user)[:100]),
        "levels": LEVELS,
    }


def _next(request: HtmxHttpRequest) -> str:
    # Only a page of this site: never an open redirect.
    url = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()})
    return url if url and allowed else ""


def _answer(request: HtmxHttpRequest, message: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, message)
        return redirect(_next(request) or reverse("dashboard:access-requests"))
    if _next(request):
        response = HttpResponse(status=204)  # asked from another page: it stays as it is
    else:
        response = render(request, f"{PAGE}#lists", _context(request))
    return add_toast(response, "success", message)


@login_required
@require_GET
def access_request_list(request: HtmxHttpRequest) -> HttpResponse:
    """Requests waiting for the user's decision, and the user's own requests."""
    return render(request, PAGE, _context(request))


@login_required
@require_POST
def access_request_new(request: HtmxHttpRequest) -> HttpResponse:
    """Ask for `level` on `target` (`org` or `org/repo`) with a `reason`."""
    organization, repository = _target(request.POST.get("target", ""))
    try:
        level = int(request.POST.get("level", "0"))
    except ValueError:
        level = 0
    created = access_request_create(
        user=request.user,  # type: ignore[arg-type]
        organization=organization,
        repository=repository,
        level=level,
        reason=request.POST.get("reason", ""),
    )
    return _answer(
        request,
        f"Requested {Level(created.level).label} on {created.target_name}; "
        "its managers will decide.",
    )


def _request(pk: int) -> AccessRequest:
    found = (
        AccessRequest.objects.select_related(
            "requester", "organization", "repository__organization"
        )
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise ServiceError(REQUEST_NOT_FOUND, "That request no longer exists.", 404)
    return found


@login_required
@require_POST
def access_request_approve_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Approve: grant the requester the level asked for."""
    decided = access_request_approve(request=_request(pk), actor=request.user)
    return _answer(
        request,
        f"{decided.requester.get_username()} now has {Level(decided.level).label} on "
        f"{decided.target_name}.",
    )


@login_required
@require_POST
def access_request_deny_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Deny, with an optional `note` for the requester."""
    decided = access_request_deny(
        request=_request(pk), actor=request.user, note=request.POST.get("note", "")
    )
    return _answer(request, f"Request of {decided.requester.get_username()} denied.")


@login_required
@require_POST
def access_request_cancel_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Withdraw one's own pending request."""
    access_request_cancel(request=_request(pk), actor=request.user)
    return _answer(request, "Request cancelled.")
