"""Remote registries (SWR's "regions", the targets of image sync): administrators only.

Anyone else gets 404 on every address here, as if the pages did not exist (the nav link is
shown to superusers only). The list page holds the table and the form to add one; each
registry has an edit page, a "Test connection" button that keeps its outcome on the row, and
delete. Passwords are write-only: never rendered, a blank one on edit keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.forms import RemoteRegistryForm
from dashboard.models import RemoteRegistry
from dashboard.selectors.sync import remote_registry_list
from dashboard.services.sync import (
    remote_registry_create,
    remote_registry_delete,
    remote_registry_test,
    remote_registry_update,
)
from dashboard.views.common import HtmxHttpRequest, navigate, partial

PAGE = "dashboard/registries.html"
EDIT = "dashboard/registries_edit.html"


def _require_superuser(request: HtmxHttpRequest) -> None:
    """404 for everyone but superusers: the pages do not exist for them."""
    if not (request.user.is_authenticated and request.user.is_superuser):
        raise Http404("No such page.")


def _get_remote_for_admin(request: HtmxHttpRequest, pk: int) -> RemoteRegistry:
    _require_superuser(request)
    remote = RemoteRegistry.objects.filter(pk=pk).first()
    if remote is None:
        raise Http404("No such remote registry.")
    return remote


def _list_context() -> dict[str, Any]:
    return {
        "remotes": remote_registry_list(),
        "form": RemoteRegistryForm(initial={"verify_tls": True}),
    }


@login_required
@require_http_methods(["GET", "POST"])
def remote_registry_list_view(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the remote registries. POST: add one (its password is sealed)."""
    _require_superuser(request)
    if request.method == "POST":
        remote = remote_registry_create(
            **RemoteRegistryForm(request.POST).values(),  # type: ignore[arg-type]
            actor=request.user,
        )
        messages.success(request, f"Remote registry {remote.name} added.")
        if not request.htmx:
            return redirect("dashboard:remote-registry-list")
        return render(request, f"{PAGE}#table", _list_context())
    return render(request, partial(request, PAGE, "table"), _list_context())


@login_required
@require_http_methods(["GET", "POST"])
def remote_registry_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET: the edit form (no password in it). POST: save; a blank password keeps the old."""
    remote = _get_remote_for_admin(request, pk)
    if request.method == "POST":
        values = RemoteRegistryForm(request.POST).values()
        values.pop("name", None)  # the region id records refer to does not change
        remote = remote_registry_update(
            remote=remote,
            **values,  # type: ignore[arg-type]
            actor=request.user,
        )
        messages.success(request, f"Remote registry {remote.name} saved.")
        return navigate(request, reverse("dashboard:remote-registry-list"))
    form = RemoteRegistryForm(
        initial={
            "name": remote.name,
            "url": remote.url,
            "username": remote.username,
            "verify_tls": remote.verify_tls,
            "description": remote.description,
        }
    )
    return render(request, EDIT, {"remote": remote, "form": form})


@login_required
@require_POST
def remote_registry_test_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Sign in to the remote now; the outcome stays on its row."""
    remote = remote_registry_test(remote=_get_remote_for_admin(request, pk), actor=request.user)
    if remote.check_ok:
        messages.success(request, f"{remote.name}: {remote.check_message}")
    else:
        messages.error(request, f"{remote.name}: {remote.check_message}")
    if not request.htmx:
        return redirect("dashboard:remote-registry-list")
    return render(request, f"{PAGE}#table", _list_context())


@login_required
@require_POST
def remote_registry_delete_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Delete a remote registry with its rules (records stay)."""
    remote = _get_remote_for_admin(request, pk)
    rules = remote_registry_delete(remote=remote, actor=request.user)
    messages.success(
        request,
        f"Remote registry {remote.name} deleted"
        + (f" with {rules} sync rule(s)." if rules else "."),
    )
    if not request.htmx:
        return redirect("dashboard:remote-registry-list")
    return render(request, f"{PAGE}#table", _list_context())
