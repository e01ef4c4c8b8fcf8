"""Build small real images and push them over the v2 API, the way a client does.

Used by `manage.py seed_demo`, the tests and the benchmarks: no Docker engine is needed, and
every push goes through the registry (and so produces real notifications).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field

from dashboard.registry.client import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryClient,
    sha256_digest,
)

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass
class BuiltImage:
    """A manifest with the blobs it needs; an index carries its children instead of blobs."""

    manifest: bytes
    media_type: str
    blobs: dict[str, bytes] = field(default_factory=dict)
    children: list[BuiltImage] = field(default_factory=list)
    platform: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def size(self) -> int:
        """Image size as Berth shows it: config + layers, or the sum over platforms."""
        if self.children:
            return sum(child.size for child in self.children)
        return sum(len(blob) for blob in self.blobs.values())


def make_layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A deterministic gzip tar layer; returns (compressed bytes, diff id of the plain tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    plain = raw.getvalue()
    compressed = gzip.compress(plain, mtime=0)
    return compressed, "sha256:" + hashlib.sha256(plain).hexdigest()


def build_image(
    *,
    fmt: str = "oci",
    architecture: str = "amd64",
    os: str = "linux",
    variant: str = "",
    files: dict[str, bytes] | None = None,
    layers: int = 1,
    labels: dict[str, str] | None = None,
    env: list[str] | None = None,
    created: dt.datetime | None = None,
    annotation: str | None = None,
) -> BuiltImage:
    """An image manifest (OCI or Docker schema2) with `layers` layers and a real config."""
    if fmt not in ("oci", "docker"):
        raise ValueError("fmt must be 'oci' or 'docker'")
    created = created or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    base_files = files or {"etc/berth-release": f"{architecture} image\n".encode()}
    layer_blobs: list[tuple[bytes, str]] = []
    for index in range(layers):
        content = dict(base_files) if index == 0 else {f"layer{index}.txt": f"{index}\n".encode()}
        layer_blobs.append(make_layer(content))
    config: dict[str, object] = {
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "architecture": architecture,
        "os": os,
        "config": {
            "Env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": labels or {},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layer_blobs]},
        "history": [
            {
                "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "created_by": f"/bin/sh -c #(nop) ADD layer {i}",
            }
            for i in range(layers)
        ],
    }
    if variant:
        config["variant"] = variant
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_type, layer_type, manifest_type = (
        (OCI_CONFIG, OCI_LAYER, OCI_MANIFEST)
        if fmt == "oci"
        else (DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST)
    )
    manifest: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {
            "mediaType": config_type,
            "size": len(config_bytes),
            "digest": sha256_digest(config_bytes),
        },
        "layers": [
            {"mediaType": layer_type, "size": len(blob), "digest": sha256_digest(blob)}
            for blob, _ in layer_blobs
        ],
    }
    if annotation is not None:
        if fmt != "oci":
            raise ValueError("annotations need an OCI manifest")
        manifest["annotations"] = {"org.opencontainers.image.description": annotation}
    blobs = {sha256_digest(config_bytes): config_bytes}
    blobs.update({sha256_digest(blob): blob for blob, _ in layer_blobs})
    platform = {"architecture": architecture, "os": os}
    if variant:
        platform["variant"] = variant
    return BuiltImage(
        manifest=json.dumps(manifest, indent=3).encode(),
        media_type=manifest_type,
        blobs=blobs,
        platform=platform,
    )


def build_index(children: list[BuiltImage], *, fmt: str = "oci") -> BuiltImage:
    """An OCI index or a Docker manifest list over `children`."""
    media_type = OCI_INDEX if fmt == "oci" else DOCKER_LIST
    index = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {
                "mediaType": child.media_type,
                "size": len(child.manifest),
                "digest": child.digest,
                "platform": child.platform,
            }
            for child in children
        ],
    }
    return BuiltImage(
        manifest=json.dumps(index, indent=3).encode(), media_type=media_type, children=children
    )


def push_image(
    client: RegistryClient, repository: str, image: BuiltImage, tag: str | None = None
) -> str:
    """Push blobs, children and the manifest (by tag, or by digest when tag is None)."""
    for child in image.children:
        push_image(client, repository, child)
    for blob in image.blobs.values():
        client.ensure_blob(repository, blob)
    return client.put_manifest(repository, tag or image.digest, image.manifest, image.media_type)
