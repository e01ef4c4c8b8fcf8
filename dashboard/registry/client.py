"""The one door to the registry's v2 API (distribution spec), over `requests`.

Every call goes through `RegistryClient._request`, which adds a bearer token for the scope the
call needs, enforces timeouts, retries only idempotent reads on transient failures, and turns
every failure into a `RegistryError` subclass. Results are small dataclasses.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, urljoin

import requests
from django.conf import settings

from dashboard.registry import errors
from dashboard.registry.tokens import CATALOG_SCOPE, Scope, issue_token, repository_scope

USER_AGENT = "berth/0.1"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
# All four, always: otherwise OCI types 404 and Docker types get rewritten to schema1.
MANIFEST_ACCEPT = ", ".join([DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX])

TokenProvider = Callable[[list[Scope]], str]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ManifestRef:
    digest: str
    media_type: str
    size: int


@dataclass(frozen=True)
class ManifestResponse:
    digest: str
    media_type: str
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body)

    def json(self) -> dict:
        return json.loads(self.body)


def make_session(*, user_agent: str = USER_AGENT) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


class BerthTokenProvider:
    """Mints Berth's own short-lived tokens locally, cached per scope until near expiry."""

    max_entries = 16384

    def __init__(self, subject: str = "berth") -> None:
        self.subject = subject
        self._cache: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, scopes: list[Scope]) -> str:
        key = " ".join(sorted(str(s) for s in scopes))
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[1] > now:
                self._cache.move_to_end(key)
                return hit[0]
        issued = issue_token(subject=self.subject, access=scopes)
        with self._lock:
            self._cache[key] = (issued.token, now + issued.expires_in - 60)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)  # least recently used
        return issued.token


class RegistryClient:
    """A client for one registry. Thread-safe enough for a worker: one session per client."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token_provider: TokenProvider | None = None,
        timeout: tuple[float, float] | None = None,
        retries: int = 2,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = (base_url or settings.REGISTRY_URL).rstrip("/")
        self.token_provider = token_provider if token_provider is not None else BerthTokenProvider()
        self.timeout = timeout or tuple(settings.REGISTRY_TIMEOUT)
        self.retries = retries
        self.session = session or make_session()

    # -- transport -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        scopes: list[Scope] | None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        data: bytes | None = None,
        stream: bool = False,
    ) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        hdrs = dict(headers or {})
        if scopes is not None and self.token_provider is not None:
            hdrs["Authorization"] = f"Bearer {self.token_provider(scopes)}"
        idempotent = method in ("GET", "HEAD")
        attempt = 0
        while True:
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=hdrs,
                    data=data,
                    timeout=self.timeout,
                    allow_redirects=True,
                    stream=stream,
                )
            except requests.Timeout as exc:
                failure: errors.RegistryError = errors.RegistryTimeout(
                    f"The registry did not answer in time ({method} {path})."
                )
                failure.__cause__ = exc
            except requests.ConnectionError as exc:
                failure = errors.RegistryUnavailable(
                    f"The registry at {self.base_url} cannot be reached."
                )
                failure.__cause__ = exc
            else:
                if response.status_code in ok:
                    return response
                failure = error_from_response(response)
                if response.status_code not in _RETRY_STATUSES:
                    raise failure
            if not idempotent or attempt >= self.retries:
                raise failure
            attempt += 1
            time.sleep(min(2.0, 0.2 * 2**attempt) * (0.5 + random.random() / 2))

    # -- base ----------------------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/ (end-1): the registry is up and accepts Berth's tokens."""
        self._request("GET", "/v2/", scopes=[])

    def catalog(self, *, page_size: int = 1000) -> Iterator[str]:
        """GET /v2/_catalog (end-... catalog extension), following `Link` to the last page."""
        path: str | None = f"/v2/_catalog?n={page_size}"
        while path:
            response = self._request("GET", path, scopes=[CATALOG_SCOPE])
            body = _json(response)
            yield from body.get("repositories") or []
            path = _next_link(response)

    def tags(self, repository: str) -> list[str]:
        """GET /v2/<name>/tags/list (end-8a): all tags, unsorted; [] for an empty repository."""
        response = self._request(
            "GET", f"/v2/{repository}/tags/list", scopes=[repository_scope(repository, "pull")]
        )
        return list(_json(response).get("tags") or [])

    # -- manifests -----------------------------------------------------------------------------

    def head_manifest(self, repository: str, reference: str) -> ManifestRef:
        """HEAD /v2/<name>/manifests/<reference> (end-3): digest, type and size without the body."""
        response = self._request(
            "HEAD",
            f"/v2/{repository}/manifests/{quote(reference)}",
            scopes=[repository_scope(repository, "pull")],
            headers={"Accept": MANIFEST_ACCEPT},
        )
        return ManifestRef(
            digest=response.headers.get("Docker-Content-Digest", ""),
            media_type=_media_type(response),
            size=int(response.headers.get("Content-Length") or 0),
        )

    def get_manifest(self, repository: str, reference: str) -> ManifestResponse:
        """GET /v2/<name>/manifests/<reference> (end-3)."""
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{quote(reference)}",
            scopes=[repository_scope(repository, "pull")],
            headers={"Accept": MANIFEST_ACCEPT},
        )
        body = response.content
        digest = sha256_digest(body)
        if reference.startswith("sha256:") and digest != reference:
            raise errors.RegistryProtocolError(
                f"The manifest the registry sent for {reference} has digest {digest}."
            )
        return ManifestResponse(digest=digest, media_type=_media_type(response), body=body)

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT /v2/<name>/manifests/<reference> (end-7). Returns the stored digest."""
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{quote(reference)}",
            scopes=[repository_scope(repository, "pull", "push")],
            headers={"Content-Type": media_type},
            data=body,
            ok=(201,),
        )
        return response.headers.get("Docker-Content-Digest") or sha256_digest(body)

    def delete_manifest(self, repository: str, reference: str) -> None:
        """DELETE /v2/<name>/manifests/<reference> (end-9): by digest removes every tag on it."""
        self._request(
            "DELETE",
            f"/v2/{repository}/manifests/{quote(reference)}",
            scopes=[repository_scope(repository, "delete")],
            ok=(202,),
        )

    # -- blobs ---------------------------------------------------------------------------------

    def get_blob(self, repository: str, digest: str) -> bytes:
        """GET /v2/<name>/blobs/<digest> (end-2), checked against its digest."""
        response = self._request(
            "GET", f"/v2/{repository}/blobs/{digest}", scopes=[repository_scope(repository, "pull")]
        )
        if sha256_digest(response.content) != digest:
            raise errors.RegistryProtocolError(f"The blob {digest} arrived damaged.")
        return response.content

    def open_blob(self, repository: str, digest: str) -> requests.Response:
        """GET /v2/<name>/blobs/<digest> (end-2), streamed: the caller reads the body in pieces
        (`iter_content`), checks its digest and closes it."""
        return self._request(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scopes=[repository_scope(repository, "pull")],
            stream=True,
        )

    def blob_exists(self, repository: str, digest: str) -> bool:
        """HEAD /v2/<name>/blobs/<digest> (end-2)."""
        try:
            self._request(
                "HEAD",
                f"/v2/{repository}/blobs/{digest}",
                scopes=[repository_scope(repository, "pull")],
            )
        except errors.RegistryNotFound:
            return False
        return True

    def upload_blob(self, repository: str, data: bytes) -> str:
        """POST then PUT /v2/<name>/blobs/uploads/ (end-4a, end-6): a monolithic upload."""
        digest = sha256_digest(data)
        scopes = [repository_scope(repository, "pull", "push")]
        started = self._request(
            "POST", f"/v2/{repository}/blobs/uploads/", scopes=scopes, ok=(202,)
        )
        location = urljoin(f"{self.base_url}/", started.headers["Location"])
        separator = "&" if "?" in location else "?"
        self._request(
            "PUT",
            f"{location}{separator}digest={quote(digest)}",
            scopes=scopes,
            headers={"Content-Type": "application/octet-stream"},
            data=data,
            ok=(201,),
        )
        return digest

    def mount_blob(self, repository: str, digest: str, *, source: str) -> bool:
        """POST /v2/<name>/blobs/uploads/?mount=&from= (end-11). True when mounted.

        The registry silently opens an ordinary upload (202) when the source lacks the blob.
        """
        response = self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/?mount={quote(digest)}&from={quote(source)}",
            scopes=[repository_scope(repository, "pull", "push"), repository_scope(source, "pull")],
            ok=(201, 202),
        )
        return response.status_code == 201

    def ensure_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob unless the repository already has it. Returns its digest."""
        digest = sha256_digest(data)
        if not self.blob_exists(repository, digest):
            self.upload_blob(repository, data)
        return digest


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError as exc:
        raise errors.RegistryProtocolError("The registry sent a body that is not JSON.") from exc
    if not isinstance(body, dict):
        raise errors.RegistryProtocolError("The registry sent an unexpected JSON body.")
    return body


def _media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip()


def _next_link(response: requests.Response) -> str | None:
    """The relative URL of the `rel="next"` Link, if any."""
    link = response.headers.get("Link", "")
    if 'rel="next"' not in link:
        return None
    start, end = link.find("<"), link.find(">")
    return link[start + 1 : end] if start != -1 and end > start else None


_STATUS_ERRORS: dict[int, type[errors.RegistryError]] = {
    401: errors.RegistryAuthError,
    403: errors.RegistryAuthError,
    404: errors.RegistryNotFound,
    405: errors.RegistryUnsupported,
    429: errors.RegistryRateLimited,
}


def error_from_response(response: requests.Response) -> errors.RegistryError:
    """Turn a non-2xx registry answer into the matching typed error."""
    code, message, detail = "", "", None
    try:
        body = response.json()
        first = (body.get("errors") or [{}])[0]
        code = str(first.get("code") or "")
        message = str(first.get("message") or "")
        detail = first.get("detail")
    except (ValueError, AttributeError, IndexError, TypeError):
        pass
    status = response.status_code
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = errors.RegistryServerError if status >= 500 else errors.RegistryProtocolError
    text = f"The registry answered {status}"
    if message:
        text += f": {message}"
    return cls(text + ".", code=code or f"HTTP_{status}", http_status=status, detail=detail)


_default: RegistryClient | None = None
_default_lock = threading.Lock()


def get_client() -> RegistryClient:
    """The process-wide client for Berth's own registry (one session, reused)."""
    global _default
    with _default_lock:
        if _default is None or _default.base_url != settings.REGISTRY_URL.rstrip("/"):
            _default = RegistryClient()
        return _default


class RealmTokenProvider:
    """Gets tokens from a token realm with Basic credentials, as docker and skopeo do."""

    def __init__(
        self,
        realm: str,
        *,
        service: str,
        username: str | None = None,
        password: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.realm = realm
        self.service = service
        self.auth = (username, password or "") if username is not None else None
        self.session = session or make_session()
        self._cache: dict[str, tuple[str, float]] = {}

    def __call__(self, scopes: list[Scope]) -> str:
        key = " ".join(sorted(str(s) for s in scopes))
        hit = self._cache.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        params: list[tuple[str, str]] = [("service", self.service)]
        params += [("scope", str(s)) for s in scopes]
        response = self.session.get(self.realm, params=params, auth=self.auth, timeout=(3.05, 30))
        if response.status_code != 200:
            raise errors.RegistryAuthError(
                f"The token realm answered {response.status_code}.",
                http_status=response.status_code,
            )
        body = response.json()
        token = body.get("token") or body.get("access_token")
        self._cache[key] = (token, time.monotonic() + int(body.get("expires_in", 60)) - 30)
        return token
