"""One tag or one manifest (platform) of a repository, and deleting tags and images."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from dashboard.models import Level, Manifest, Repository, Tag
from dashboard.registry.errors import RegistryError
from dashboard.selectors.tags import (
    manifest_digests_indexed,
    manifest_get,
    tag_get,
    tags_on_manifest,
)
from dashboard.services import index, tags
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.views.common import (
    HtmxHttpRequest,
    get_repository_for_user,
    navigate,
    partial,
    pull_commands,
    repository_url,
)
from dashboard.views.repositories import tags_context

#: More tags than one bulk delete may name: the confirmation lists them all.
MAX_BULK = 500


@login_required
def tag_detail(request: HtmxHttpRequest, org: str, repo: str, tag: str) -> HttpResponse:
    """One tag: its manifest, config, layers, history, labels, environment, platforms."""
    repository, level = get_repository_for_user(request, org, repo)
    found = tag_get(repository=repository, name=tag)
    if found is None:
        raise Http404("No such tag.")
    return _render_manifest(request, repository, level, found.manifest, tag=found)


@login_required
def manifest_detail(request: HtmxHttpRequest, org: str, repo: str, digest: str) -> HttpResponse:
    """One manifest by digest, e.g. a platform of a multi-arch image."""
    repository, level = get_repository_for_user(request, org, repo)
    manifest = manifest_get(repository=repository, digest=digest)
    if manifest is None:
        raise Http404("No such manifest.")
    return _render_manifest(request, repository, level, manifest, tag=None)


def _render_manifest(
    request: HtmxHttpRequest,
    repository: Repository,
    level: int,
    manifest: Manifest,
    *,
    tag: Tag | None,
) -> HttpResponse:
    details_error: ServiceError | None = None
    manifest.repository = repository  # already loaded; saves a query when details are fetched
    try:
        index.manifest_ensure_details(manifest=manifest)
    except RegistryError as exc:
        details_error = ServiceError.from_registry(exc, doing="load the image details")
    except ServiceError as exc:
        details_error = exc
    base = f"{settings.REGISTRY_HOST}/{repository.full_name}"
    reference = f"{base}:{tag.name}" if tag else f"{base}@{manifest.digest}"
    private = not repository.is_public
    username = request.user.get_username()
    siblings, sibling_count = tags_on_manifest(repository=repository, digest=manifest.digest)
    known_children = manifest_digests_indexed(
        repository=repository, digests=[p.get("digest") for p in manifest.platforms or []]
    )
    context = {
        "repository": repository,
        "level": level,
        "can_manage": level >= Level.MANAGE,
        "tag": tag,
        "manifest": manifest,
        "details_error": details_error,
        "image": _image_details(manifest),
        "known_children": known_children,
        "siblings": siblings,
        "sibling_count": sibling_count,
        "repository_url": repository_url(repository),
        "commands": pull_commands(reference=reference, private=private, username=username),
        "digest_commands": pull_commands(
            reference=f"{base}@{manifest.digest}", private=private, username=username
        ),
    }
    return render(request, "dashboard/tag_detail.html", context)


def _image_details(manifest: Manifest) -> dict[str, Any]:
    """What the tag page shows from the manifest text and the config blob, when it has them."""
    raw: dict[str, Any] = {}
    if manifest.raw:
        try:
            raw = json.loads(manifest.raw)
        except ValueError:
            raw = {}
    config: dict[str, Any] = manifest.config if isinstance(manifest.config, dict) else {}
    container = config.get("config") or {}
    layers = manifest.layers or [
        {
            "digest": layer.get("digest", ""),
            "media_type": layer.get("mediaType", ""),
            "size": layer.get("size", 0),
        }
        for layer in raw.get("layers") or []
    ]
    return {
        "raw": raw,
        "config": config,
        "layers": layers,
        "history": config.get("history") or [],
        "labels": manifest.labels or container.get("Labels") or {},
        "env": container.get("Env") or [],
        "annotations": raw.get("annotations") or {},
        "entrypoint": container.get("Entrypoint"),
        "cmd": container.get("Cmd"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def tag_delete(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """GET: confirm, naming every selected tag. POST: delete exactly those tags (Manage).

    After an htmx POST the tags table comes back (same filters and page) with the counters.
    """
    repository, level = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    data = request.POST if request.method == "POST" else request.GET
    names = list(dict.fromkeys(n for n in data.getlist("tag") if n))
    if not names:
        raise ServiceError(INVALID_PARAMETERS, "Select at least one tag to delete.", 400)
    if len(names) > MAX_BULK:
        raise ServiceError(INVALID_PARAMETERS, f"Delete at most {MAX_BULK} tags at a time.", 400)
    if request.method == "POST":
        removed = tags.tags_delete(repository=repository, names=names, actor=request.user)
        messages.success(
            request,
            f"Deleted {len(removed)} tag{'s' if len(removed) != 1 else ''} of "
            f"{repository.full_name}: {', '.join(removed)}.",
        )
        if not request.htmx:
            return redirect(repository_url(repository))
        repository.refresh_from_db()
        context = {**tags_context(request, repository, level), "oob": True}
        return render(request, "dashboard/repository_detail.html#tags-changed", context)
    context = {
        "title": f"Delete {len(names)} tag{'s' if len(names) != 1 else ''}?",
        "explanation": (
            "Only these tags are removed. Other tags that point at the same image stay."
        ),
        "items": names,
        "hidden": [("tag", name) for name in names]
        + [(key, data[key]) for key in ("q", "sort", "page") if data.get(key)],
        "action": reverse("dashboard:tag-delete", args=[org, repo]),
        "confirm_label": f"Delete {len(names)} tag{'s' if len(names) != 1 else ''}",
        "cancel_url": repository_url(repository),
        "target": "#tags",
    }
    return render(request, partial(request, "dashboard/confirm.html", "dialog"), context)


@login_required
@require_http_methods(["GET", "POST"])
def manifest_delete_view(
    request: HtmxHttpRequest, org: str, repo: str, digest: str
) -> HttpResponse:
    """GET: confirm, listing every tag that goes with the image. POST: delete it (Manage)."""
    repository, _level = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    if request.method == "POST":
        removed = tags.manifest_delete(repository=repository, digest=digest, actor=request.user)
        messages.success(
            request,
            f"Deleted image {digest[:19]}"
            + (f" and its tags {', '.join(removed)}." if removed else "."),
        )
        return navigate(request, repository_url(repository))
    plan = tags.manifest_delete_plan(repository=repository, digest=digest)
    context = {
        "title": f"Delete image {digest[:19]}…?",
        "explanation": (
            "Deleting an image by digest removes every tag that points at it:"
            if plan
            else "No tag points at this image."
        ),
        "items": [tag.name for tag in plan],
        "action": reverse("dashboard:manifest-delete", args=[org, repo, digest]),
        "confirm_label": "Delete image" + (f" and {len(plan)} tags" if len(plan) > 1 else ""),
        "cancel_url": reverse("dashboard:manifest-detail", args=[org, repo, digest]),
    }
    return render(request, partial(request, "dashboard/confirm.html", "dialog"), context)
