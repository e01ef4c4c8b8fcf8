"""Real sync targets for the sync tests: docker-registry processes of their own.

- `basic_target`: htpasswd Basic auth (bcrypt hashes, made with the `bcrypt` package).
- `token_target`: token auth whose realm is Berth's own `/service/token` on the live server and
  whose root certificate is Berth's test certificate, so its credentials are a Berth user's (who
  needs Write on an organization named like the target namespace to push there).

Import the fixtures into a test module (`from tests.sync_targets import basic_target, ...`).
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from django.conf import settings

from dashboard.models import Job, Level, Organization, OrganizationPermission, SyncJob
from dashboard.registry.images import BuiltImage
from dashboard.registry.remote import RemoteClient
from tests.conftest import PASSWORD
from tests.servers import RegistryProcess, free_port, wait_for

BASIC_USER = "mirror"
BASIC_PASSWORD = "mirror-secret-1"

_COMMON = """version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  # Fixed, so that upload sessions stay valid when the test restarts the registry.
  secret: {secret}
"""


@dataclass
class Target:
    """A sync target registry and the credentials that work on it."""

    process: RegistryProcess
    username: str
    password: str

    @property
    def url(self) -> str:
        return self.process.url

    def client(self, username: str | None = None, password: str | None = None) -> RemoteClient:
        return RemoteClient(
            self.url,
            name="test-target",
            username=self.username if username is None else username,
            password=self.password if password is None else password,
        )


def start_basic_target(workdir: Path) -> Target:
    """A registry with htpasswd Basic auth for BASIC_USER / BASIC_PASSWORD."""
    workdir.mkdir(parents=True, exist_ok=True)
    hashed = bcrypt.hashpw(BASIC_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    (workdir / "htpasswd").write_text(f"{BASIC_USER}:{hashed}\n")
    port = free_port()
    process = RegistryProcess(workdir, port)
    process.write_config(
        _COMMON.format(storage=workdir / "storage", port=port, secret=secrets.token_hex(16))
        + f"""auth:
  htpasswd:
    realm: berth-test-basic
    path: {workdir / "htpasswd"}
"""
    )
    process.start()
    return Target(process, BASIC_USER, BASIC_PASSWORD)


@pytest.fixture(scope="module")
def basic_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    target = start_basic_target(tmp_path_factory.mktemp("basic-target"))
    yield target
    target.process.stop()


@pytest.fixture(scope="module")
def token_target(live_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:  # type: ignore[no-untyped-def]
    """A registry trusting Berth's realm; tests make the user (`syncer`) and its grant."""
    workdir = tmp_path_factory.mktemp("token-target")
    port = free_port()
    process = RegistryProcess(workdir, port)
    process.write_config(
        _COMMON.format(storage=workdir / "storage", port=port, secret=secrets.token_hex(16))
        + f"""auth:
  token:
    realm: {live_server.url}/service/token
    service: {settings.TOKEN_SERVICE}
    issuer: {settings.TOKEN_ISSUER}
    rootcertbundle: {settings.TOKEN_CERT_FILE}
"""
    )
    process.start()
    yield Target(process, "syncer", PASSWORD)
    process.stop()


def grant_target_namespace(user: Any, namespace: str) -> Organization:
    """An organization in Berth named like the target namespace, where `user` may push (the
    token target asks Berth's realm, which applies Berth's permissions)."""
    organization = Organization.objects.create(name=namespace)
    OrganizationPermission.objects.create(organization=organization, user=user, level=Level.WRITE)
    return organization


def wait_finished(job: Job, *, timeout: float = 60) -> Job:
    """Wait for the worker to end `job`; return it fresh."""
    wait_for(
        lambda: Job.objects.get(pk=job.pk).is_finished,
        timeout=timeout,
        what=f"sync job {job.pk} to finish",
    )
    return Job.objects.get(pk=job.pk)


def records_of(job: Job) -> list[SyncJob]:
    return list(SyncJob.objects.filter(job=job).order_by("pk"))


def blob_sha256(client: RemoteClient, repository: str, digest: str) -> str:
    """Read a blob back from a target, streamed, and hash it."""
    hasher = hashlib.sha256()
    response = client.get_blob(repository, digest)
    try:
        for piece in response.iter_content(1024 * 1024):
            hasher.update(piece)
    finally:
        response.close()
    return "sha256:" + hasher.hexdigest()


def push_to_target(client: RemoteClient, repository: str, image: BuiltImage, tag: str) -> str:
    """Push an image straight into a target (what someone else put there)."""
    for child in image.children:
        push_to_target(client, repository, child, child.digest)
    for digest, blob in image.blobs.items():
        client.upload_blob(
            repository,
            digest=digest,
            size=len(blob),
            read=io.BytesIO(blob).read,
            chunk_size=len(blob) + 1,
        )
    return client.put_manifest(repository, tag, image.manifest, image.media_type)
