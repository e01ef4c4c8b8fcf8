"""The registry client and image builder against a real docker-registry."""

from __future__ import annotations

import pytest

from dashboard.registry import errors
from dashboard.registry.client import RegistryClient, error_from_response
from dashboard.registry.images import build_image, build_index, push_image

pytestmark = pytest.mark.registry


def test_push_and_read_back_oci_docker_and_index(berth_registry_client: RegistryClient) -> None:
    client = berth_registry_client
    oci = build_image(fmt="oci", labels={"team": "core"})
    docker = build_image(fmt="docker", architecture="arm64")
    index = build_index(
        [build_image(architecture="amd64"), build_image(architecture="arm64", variant="v8")]
    )
    assert push_image(client, "client/oci", oci, "v1") == oci.digest
    assert push_image(client, "client/docker", docker, "v1") == docker.digest
    assert push_image(client, "client/multi", index, "latest") == index.digest

    got = client.get_manifest("client/multi", "latest")
    assert got.digest == index.digest
    assert got.media_type == index.media_type
    assert client.head_manifest("client/docker", "v1").digest == docker.digest
    assert sorted(client.tags("client/oci")) == ["v1"]
    assert "client/multi" in set(client.catalog(page_size=2))


def test_missing_manifest_is_a_typed_not_found(berth_registry_client: RegistryClient) -> None:
    push_image(berth_registry_client, "client/nf", build_image(), "v1")
    with pytest.raises(errors.RegistryNotFound) as info:
        berth_registry_client.get_manifest("client/nf", "nope")
    assert info.value.code == "MANIFEST_UNKNOWN"


def test_unreachable_registry_is_unavailable() -> None:
    client = RegistryClient("http://127.0.0.1:9", retries=0)
    with pytest.raises(errors.RegistryUnavailable):
        client.ping()


def test_error_mapping_from_captured_response() -> None:
    import requests

    response = requests.Response()
    response.status_code = 400
    response._content = (
        b'{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match"}]}'
    )
    error = error_from_response(response)
    assert isinstance(error, errors.RegistryProtocolError)
    assert error.code == "DIGEST_INVALID"
    assert "provided digest did not match" in error.message
