"""Deleting tags, images and repositories: exactly what the user chose goes, and the index
follows at once. Copying a tag within a repository (SWR's CreateRepoTag).

Registry facts this follows (REGISTRY-FACTS.md §3): deleting a manifest by digest removes every
tag on it; distribution 2.8 cannot delete a tag by name (400 DIGEST_INVALID) while 3.x can; so
on 2.8 one tag is removed by re-pointing it at a unique throwaway manifest and deleting that.
There is no repository delete: every manifest is deleted and the index forgets the repository,
though the registry keeps listing it in `_catalog`. DELETE and PUT are never retried.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid

from django.db import transaction

from dashboard.models import Level, Manifest, Repository, Tag
from dashboard.models.repositories import INDEX_MEDIA_TYPES
from dashboard.registry.client import OCI_MANIFEST, RegistryClient, get_client
from dashboard.registry.errors import RegistryError, RegistryNotFound
from dashboard.services import index
from dashboard.services.access import AnyUser, require_repository_level
from dashboard.services.audit import audit_record
from dashboard.services.errors import (
    IMAGE_EXISTS,
    INVALID_PARAMETERS,
    INVALID_TAG,
    MANIFEST_NOT_FOUND,
    TAG_NOT_FOUND,
    ServiceError,
)
from dashboard.services.index import PLACEHOLDER_ANNOTATION

logger = logging.getLogger(__name__)

EMPTY_CONFIG = b"{}"
EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
#: A tag as distribution's reference grammar allows it.
TAG_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

# Whether each registry (by base URL) deletes a tag by name. Learned once per process.
_delete_by_tag: dict[str, bool] = {}
_delete_by_tag_lock = threading.Lock()


def _short(digest: str) -> str:
    return digest[:19]


def _placeholder_manifest(config_digest: str) -> bytes:
    """A manifest no other tag can share: empty config, no layers, a fresh UUID annotation."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": EMPTY_CONFIG_TYPE,
                "digest": config_digest,
                "size": len(EMPTY_CONFIG),
            },
            "layers": [],
            "annotations": {PLACEHOLDER_ANNOTATION: str(uuid.uuid4())},
        }
    ).encode()


class TagRemover:
    """Removes single tags from one repository in the registry, never touching their siblings."""

    REMOVED, GONE, MOVED = "removed", "gone", "moved"

    def __init__(self, client: RegistryClient, path: str) -> None:
        self.client = client
        self.path = path
        self._config_digest: str | None = None

    def remove(self, name: str, *, expected_digest: str, only_if_unchanged: bool = False) -> str:
        """Remove tag `name`. Returns GONE when the registry no longer has it, MOVED (and removes
        nothing) when `only_if_unchanged` and the tag now points elsewhere, else REMOVED.

        Raises RegistryError (DELETE and PUT are never retried: neither is idempotent).
        """
        try:
            current = self.client.head_manifest(self.path, name).digest
        except RegistryNotFound:
            return self.GONE
        if current != expected_digest:
            if only_if_unchanged:
                return self.MOVED
            # Re-pushed since the index saw it; the user asked for the tag, which goes either
            # way, and the manifest it now points at stays in the registry.
            logger.info("tag %s:%s moved to %s before deletion", self.path, name, current)
        if _delete_by_tag.get(self.client.base_url, True) and self._delete_by_name(name):
            return self.REMOVED
        digest = self.client.put_manifest(
            self.path, name, _placeholder_manifest(self._empty_config()), OCI_MANIFEST
        )
        self.client.delete_manifest(self.path, digest)
        return self.REMOVED

    def _delete_by_name(self, name: str) -> bool:
        """Try DELETE by tag (distribution 3.x). False when this registry cannot (2.8)."""
        try:
            self.client.delete_manifest(self.path, name)
        except RegistryNotFound:
            return True  # gone already
        except RegistryError as exc:
            # 2.8 parses the reference as a digest and answers 400 (DIGEST_INVALID or
            # UNSUPPORTED). A 405 means deletes are disabled: the throwaway could not be
            # deleted either, so that error is raised rather than leaving a placeholder behind.
            if exc.http_status != 400:
                raise
            with _delete_by_tag_lock:
                _delete_by_tag[self.client.base_url] = False
            return False
        with _delete_by_tag_lock:
            _delete_by_tag[self.client.base_url] = True
        return True

    def _empty_config(self) -> str:
        if self._config_digest is None:
            self._config_digest = self.client.ensure_blob(self.path, EMPTY_CONFIG)
        return self._config_digest


def tags_delete(*, repository: Repository, names: list[str], actor: AnyUser) -> list[str]:
    """Delete exactly the tags `names` of `repository`; tags sharing their digest stay.

    Returns the names removed, in the order given. Raises ServiceError: 4037018 (403) without
    Manage; 4041056 (404) when a name is not a tag of the repository (nothing is deleted
    then); the registry's failure (ServiceError.from_registry) with the tags already removed
    named in the message.
    """
    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)
    wanted = list(dict.fromkeys(names))
    known = {
        tag.name: tag.manifest.digest
        for tag in Tag.objects.filter(repository=repository, name__in=wanted).select_related(
            "manifest"
        )
    }
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ServiceError(
            TAG_NOT_FOUND,
            f"{repository.full_name} has no tag {', '.join(unknown)}.",
            404,
        )
    remover = TagRemover(get_client(), repository.full_name)
    removed: list[str] = []
    for name in wanted:
        try:
            remover.remove(name, expected_digest=known[name])
        except RegistryError as exc:
            done = f" (removed {', '.join(removed)})" if removed else ""
            raise ServiceError.from_registry(exc, doing=f"delete tag {name}{done}") from exc
        index.tag_forget(repository=repository, names=[name])
        audit_record(
            action="deleteImageTag",
            resource_type="imagetag",
            resource_name=f"{repository.full_name}:{name}",
            organization=repository.organization.name,
            actor=actor,
        )
        removed.append(name)
    return removed


def manifest_delete_plan(*, repository: Repository, digest: str) -> list[Tag]:
    """Every tag of `repository` that deleting `digest` takes with it, by name."""
    return list(
        Tag.objects.filter(repository=repository, manifest__digest=digest)
        .select_related("manifest")
        .order_by("name")
    )


def _indexes_containing(repository: Repository, digest: str) -> list[str]:
    """Digests of the multi-arch manifests in the index that list `digest` as a platform."""
    rows = Manifest.objects.filter(
        repository=repository, media_type__in=INDEX_MEDIA_TYPES
    ).values_list("digest", "platforms")
    return [
        parent
        for parent, platforms in rows
        if any(p.get("digest") == digest for p in platforms or [])
    ]


def manifest_delete(*, repository: Repository, digest: str, actor: AnyUser) -> list[str]:
    """Delete the image `digest` and with it every tag on it (see `manifest_delete_plan`).

    Returns the names of the tags removed. Raises ServiceError: 4037018 (403) without Manage;
    4000014 (400) for a malformed digest, or a platform still listed by a multi-arch image
    (deleting it would break that image); 4041060 (404) when neither the index nor the
    registry has it; the registry's failure (ServiceError.from_registry).
    """
    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)
    if not _DIGEST.match(digest):
        raise ServiceError(INVALID_PARAMETERS, f"{digest!r} is not a sha256 digest.", 400)
    parents = _indexes_containing(repository, digest)
    if parents:
        raise ServiceError(
            INVALID_PARAMETERS,
            f"{_short(digest)} is a platform of the multi-arch image "
            f"{', '.join(_short(p) for p in parents)}; delete that image instead.",
            400,
        )
    names = [tag.name for tag in manifest_delete_plan(repository=repository, digest=digest)]
    known = Manifest.objects.filter(repository=repository, digest=digest).exists()
    try:
        get_client().delete_manifest(repository.full_name, digest)
    except RegistryNotFound as exc:
        if not known:
            raise ServiceError(
                MANIFEST_NOT_FOUND, f"{repository.full_name} has no image {digest}.", 404
            ) from exc
        # Already gone from the registry: the index follows.
    except RegistryError as exc:
        raise ServiceError.from_registry(exc, doing=f"delete image {_short(digest)}") from exc
    index.manifest_forget(repository=repository, digest=digest)
    audit_record(
        action="deleteManifest",
        resource_type="manifest",
        resource_name=f"{repository.full_name}@{digest}",
        organization=repository.organization.name,
        actor=actor,
        detail={"tags": names},
    )
    return names


def _registry_digests(client: RegistryClient, path: str) -> dict[str, str]:
    """{digest: media type} of every tagged manifest of `path` in the registry."""
    try:
        names = client.tags(path)
    except RegistryNotFound:
        return {}
    digests: dict[str, str] = {}
    for name in names:
        try:
            ref = client.head_manifest(path, name)
        except RegistryNotFound:
            continue  # deleted meanwhile
        digests.setdefault(ref.digest, ref.media_type)
    return digests


def repository_delete(*, repository: Repository, actor: AnyUser) -> None:
    """Delete every manifest of `repository` in the registry, then the repository from the index.

    Deletes tagged manifests, those only the index knows, and the platforms of multi-arch
    images. The registry keeps listing the empty repository in `_catalog`; reconcile does not
    re-create repositories without tags. Raises ServiceError: 4037018 (403) without Manage; the
    registry's failure (ServiceError.from_registry), after the index has forgotten the
    manifests already deleted.
    """
    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)
    client = get_client()
    path = repository.full_name
    try:
        digests = _registry_digests(client, path)
        for digest, media_type in Manifest.objects.filter(repository=repository).values_list(
            "digest", "media_type"
        ):
            digests.setdefault(digest, media_type)
        children: list[str] = []
        for digest, media_type in digests.items():
            if media_type in INDEX_MEDIA_TYPES:
                try:
                    body = client.get_manifest(path, digest).json()
                except RegistryNotFound:
                    continue
                children += [m["digest"] for m in body.get("manifests") or [] if "digest" in m]
    except RegistryError as exc:
        raise ServiceError.from_registry(exc, doing=f"list the images of {path}") from exc
    # Multi-arch images before their platforms, so no image is ever left half-present.
    order = list(dict.fromkeys([*digests, *children]))
    deleted: list[str] = []
    for digest in order:
        try:
            client.delete_manifest(path, digest)
        except RegistryNotFound:
            pass
        except RegistryError as exc:
            for gone in deleted:
                index.manifest_forget(repository=repository, digest=gone)
            raise ServiceError.from_registry(
                exc, doing=f"delete image {_short(digest)} of {path}"
            ) from exc
        deleted.append(digest)
    with transaction.atomic():
        Tag.objects.filter(repository=repository).delete()
        Manifest.objects.filter(repository=repository).delete()
        Repository.objects.filter(pk=repository.pk).delete()
        audit_record(
            action="deleteImageRepository",
            resource_type="imagerepository",
            resource_name=path,
            organization=repository.organization.name,
            actor=actor,
        )


def tag_copy(
    *, repository: Repository, source: str, destination: str, override: bool, actor: AnyUser
) -> str:
    """Point tag `destination` of `repository` at the image tag `source` points at; return
    the digest.

    The manifest is read from the registry (all four manifest types accepted) and put back
    under the new name, byte for byte, so the digest is the same. Like any push, the index, the
    triggers, automatic sync and retention learn of the new tag from the registry's
    notification. Raises ServiceError: 4037018 (403) without Write; 4009021 (400) for a
    destination against the tag grammar; 4000014 (400) when both names are the same;
    4041056 (404) when the repository has no tag `source`; 4090006 (409) when `destination`
    exists (in the index or the registry) and `override` is false; the registry's failure
    (ServiceError.from_registry). The PUT is never retried.
    """
    require_repository_level(user=actor, repository=repository, level=Level.WRITE)
    if not TAG_NAME.match(destination):
        raise ServiceError(
            INVALID_TAG,
            f"{destination[:130]!r} is not a valid tag: up to 128 letters, digits, _ . and -, "
            "not starting with . or -.",
            400,
        )
    if source == destination:
        raise ServiceError(INVALID_PARAMETERS, "The source and destination tags are the same.", 400)
    path = repository.full_name
    missing = ServiceError(TAG_NOT_FOUND, f"{path} has no tag {source}.", 404)
    if not Tag.objects.filter(repository=repository, name=source).exists():
        raise missing
    client = get_client()
    try:
        if not override:
            exists = Tag.objects.filter(repository=repository, name=destination).exists()
            if not exists:
                try:
                    client.head_manifest(path, destination)
                    exists = True  # pushed, not indexed yet
                except RegistryNotFound:
                    pass
            if exists:
                raise ServiceError(
                    IMAGE_EXISTS,
                    f"{path}:{destination} exists; send override true to replace it.",
                    409,
                )
        try:
            manifest = client.get_manifest(path, source)
        except RegistryNotFound as exc:
            raise missing from exc
        digest = client.put_manifest(path, destination, manifest.body, manifest.media_type)
    except RegistryError as exc:
        raise ServiceError.from_registry(exc, doing=f"copy {source} to {destination}") from exc
    audit_record(
        action="createImageTag",
        resource_type="imagetag",
        resource_name=f"{path}:{destination}",
        organization=repository.organization.name,
        actor=actor,
        detail={"source": source, "digest": digest, "override": override},
    )
    return digest
