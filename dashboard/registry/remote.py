"""A client for another registry Berth copies images to: a sync target (SWR's "region").

Berth's own registry trusts tokens Berth mints itself (`client.py`); a remote says how to sign
in through its challenge. `GET /v2/` answers 401 with `WWW-Authenticate: Basic ...` (send the
credentials with every request) or `Bearer realm=...,service=...` (ask the realm for a token per
scope with the credentials, as docker does; tokens are cached until shortly before they expire).
A 401 on a request with a cached token fetches a new one once: tokens may expire in the middle
of a long copy. Failures become the typed errors of `errors.py`, carrying what the remote said;
refused credentials are never retryable. No ORM here.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

import requests
from django.conf import settings

from dashboard.registry import errors
from dashboard.registry.client import (
    MANIFEST_ACCEPT,
    ManifestRef,
    error_from_response,
    make_session,
)

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_CHALLENGE_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
#: Tokens are renewed this long before the realm says they expire.
_TOKEN_MARGIN = 30.0
#: Bytes asked of a blob's source at a time.
READ_PIECE = 1024 * 1024


@dataclass(frozen=True)
class Challenge:
    """What `WWW-Authenticate` asks for: scheme `basic`, `bearer`, or `""` (no sign-in)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, header: str) -> Challenge:
        """The first challenge of a `WWW-Authenticate` header (an empty one: no sign-in)."""
        header = header.strip()
        if not header:
            return cls("")
        scheme, _, rest = header.partition(" ")
        params = {
            m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3) or "")
            for m in _CHALLENGE_PARAM.finditer(rest)
        }
        return cls(scheme.lower(), {k: v.replace('\\"', '"') for k, v in params.items()})


def repository_scope(repository: str, actions: str) -> str:
    return f"repository:{repository}:{actions}"


def upstream_message(response: requests.Response) -> str:
    """What an error answer says, from the forms registries and realms use: distribution's
    `{"errors": [{"code", "message"}]}`, SWR's `error_msg`, `details`, or a short text body."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text and "<" not in text[:1] else ""
    if isinstance(body, dict):
        entries = body.get("errors")
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            first = entries[0]
            message = str(first.get("message") or first.get("errorMessage") or "")
            code = str(first.get("code") or first.get("errorCode") or "")
            return f"{message} ({code})" if message and code else message or code
        for key in ("error_msg", "details", "message", "error_description", "error"):
            if body.get(key):
                return str(body[key])[:300]
    return ""


class RemoteClient:
    """A client for one remote registry: challenge, credentials, timeouts, TLS flag, typed errors.

    Safe to share between the threads of one sync: the session's pool and the token cache are.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "",
        username: str = "",
        password: str = "",
        verify_tls: bool = True,
        timeout: tuple[float, float] | None = None,
        retries: int = 2,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self.label = f"The remote registry {name or self.host}"
        self.username = username
        self._password = password
        self.timeout = timeout or tuple(settings.REGISTRY_TIMEOUT)
        self.retries = retries
        self.session = session or make_session()
        self.session.verify = verify_tls
        self._challenge: Challenge | None = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the password
        return f"RemoteClient({self.base_url!r}, username={self.username!r})"

    # -- signing in ----------------------------------------------------------------------------

    def challenge(self) -> Challenge:
        """GET /v2/ (end-1) without credentials, once: how this registry wants to be signed in."""
        with self._lock:
            if self._challenge is not None:
                return self._challenge
        response = self._send("GET", f"{self.base_url}/v2/", headers={}, idempotent=True)
        if response.status_code == 200:
            found = Challenge("")
        elif response.status_code == 401:
            found = Challenge.parse(response.headers.get("WWW-Authenticate", ""))
            if found.scheme not in ("basic", "bearer"):
                raise errors.RegistryAuthError(
                    f"{self.label} asks for sign-in Berth does not support "
                    f"({found.scheme or 'no challenge'}).",
                    code="UNSUPPORTED_AUTH",
                    http_status=401,
                )
        else:
            raise self._failure(response)
        with self._lock:
            self._challenge = found
        return found

    def _credentials(self) -> tuple[str, str] | None:
        return (self.username, self._password) if self.username else None

    def _token(self, scope: str, *, renew: bool = False) -> str:
        """A bearer token from the realm for `scope` ("" asks for none, as `docker login` does)."""
        now = time.monotonic()
        # A read may use the push token a copy already holds for the same repository.
        keys = [scope + ",push", scope] if scope.endswith(":pull") else [scope]
        with self._lock:
            for key in keys:
                hit = self._tokens.get(key)
                if hit and hit[1] > now and not renew:
                    return hit[0]
        params = (self._challenge or Challenge("")).params
        realm = params.get("realm", "")
        if not realm.startswith(("http://", "https://")):
            raise errors.RegistryAuthError(
                f"{self.label} names no usable token realm ({realm!r}).", code="UNSUPPORTED_AUTH"
            )
        query = [("service", params["service"])] if params.get("service") else []
        if scope:
            query.append(("scope", scope))
        if self.username:
            query.append(("account", self.username))
        try:
            response = self.session.get(
                realm, params=query, auth=self._credentials(), timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise errors.RegistryTimeout(f"The token service of {self.host} timed out.") from exc
        except requests.ConnectionError as exc:
            raise errors.RegistryUnavailable(
                f"The token service of {self.host} ({realm}) cannot be reached."
            ) from exc
        if response.status_code != 200:
            said = upstream_message(response)
            cls: type[errors.RegistryError] = (
                errors.RegistryAuthError
                if response.status_code in (400, 401, 403)
                else errors.RegistryRateLimited
                if response.status_code == 429
                else errors.RegistryServerError
            )
            who = f" for user {self.username!r}" if self.username else " anonymously"
            raise cls(
                f"The token service of {self.host} refused a token{who}: "
                f"{said or f'HTTP {response.status_code}'}.",
                code="UNAUTHORIZED"
                if response.status_code == 401
                else f"HTTP_{response.status_code}",
                http_status=response.status_code,
            )
        try:
            body = response.json()
            token = str(body.get("token") or body.get("access_token") or "")
            expires_in = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            token, expires_in = "", 0.0
        if not token:
            raise errors.RegistryProtocolError(
                f"The token service of {self.host} answered without a token.", code="NO_TOKEN"
            )
        with self._lock:
            self._tokens[scope] = (token, now + max(expires_in, 60.0) - _TOKEN_MARGIN)
        return token

    def _auth(self, scope: str, *, renew: bool = False) -> tuple[dict[str, str], object]:
        """Headers and `requests` auth for a request needing `scope`."""
        found = self.challenge()
        if found.scheme == "basic":
            return {}, self._credentials()
        if found.scheme == "bearer":
            return {"Authorization": f"Bearer {self._token(scope, renew=renew)}"}, None
        return {}, None

    def check(self) -> str:
        """Sign in as a client would (`docker login`) and say how it went; raises RegistryError.

        GET /v2/ (end-1) with the credentials: 200 means they are accepted.
        """
        self._challenge = None
        found = self.challenge()
        if found.scheme == "bearer":
            self._token("", renew=True)
        response = self._request("GET", "/v2/", scope="")
        version = response.headers.get("Docker-Distribution-Api-Version", "registry/2.0")
        how = {
            "basic": f"Basic sign-in as {self.username or 'nobody'}",
            "bearer": (
                f"tokens from {found.params.get('realm')} as {self.username or 'an anonymous user'}"
            ),
            "": "no sign-in required",
        }[found.scheme]
        return f"Connected to {self.host} ({version}), {how}."

    # -- transport -----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        auth: object = None,
        data: object = None,
        stream: bool = False,
        idempotent: bool,
    ) -> requests.Response:
        """One request; reads are sent again on connection errors and 429/502/503/504."""
        attempt = 0
        while True:
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=headers,
                    auth=auth,  # type: ignore[arg-type]
                    data=data,  # type: ignore[arg-type]
                    timeout=self.timeout,
                    stream=stream,
                    allow_redirects=True,
                )
            except requests.exceptions.SSLError as exc:
                raise errors.RegistryAuthError(
                    f"{self.label} failed the TLS check ({_tls_reason(exc)}). Turn TLS "
                    "verification off for it only on a network you trust.",
                    code="TLS",
                ) from exc
            except requests.Timeout as exc:
                failure: errors.RegistryError = errors.RegistryTimeout(
                    f"{self.label} did not answer in time ({method} {urlsplit(url).path})."
                )
                failure.__cause__ = exc
            except requests.ConnectionError as exc:
                failure = errors.RegistryUnavailable(
                    f"{self.label} at {self.base_url} cannot be reached."
                )
                failure.__cause__ = exc
            else:
                again = idempotent and response.status_code in _RETRY_STATUSES
                if not again or attempt >= self.retries:
                    return response
                response.close()
                failure = self._failure(response)
            if not idempotent or attempt >= self.retries:
                raise failure
            attempt += 1
            time.sleep(min(2.0, 0.2 * 2**attempt) * (0.5 + random.random() / 2))

    def _request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        headers: dict[str, str] | None = None,
        data: object = None,
        ok: tuple[int, ...] = (200,),
        stream: bool = False,
    ) -> requests.Response:
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        idempotent = method in ("GET", "HEAD")
        renew = False
        while True:
            extra, auth = self._auth(scope, renew=renew)
            response = self._send(
                method,
                url,
                headers={**(headers or {}), **extra},
                auth=auth,
                data=data,
                stream=stream,
                idempotent=idempotent,
            )
            if response.status_code in ok:
                return response
            if response.status_code == 401 and "Authorization" in extra and not renew:
                # The token may have expired during a long copy: one fresh try, unless the body
                # was streamed from the source (it cannot be sent again; the job retries).
                if isinstance(data, _Part):
                    self._token(scope, renew=True)
                    failure = self._failure(response)
                    raise TokenExpired(failure.message, code=failure.code, http_status=401)
                renew = True
                continue
            if method == "HEAD" and response.status_code != 404:
                # A HEAD answer has no body: ask again with GET to learn what the remote says.
                response = self._send(
                    "GET",
                    url,
                    headers={**(headers or {}), **extra},
                    auth=auth,
                    stream=True,
                    idempotent=True,
                )
                if response.status_code in ok:  # not what the HEAD said; take its headers
                    response.close()
                    return response
            raise self._failure(response)

    def _failure(self, response: requests.Response) -> errors.RegistryError:
        """The typed error for an answer, with what the remote said in its message."""
        typed = error_from_response(response)
        said = upstream_message(response)
        text = f"{self.label} answered {response.status_code}"
        if said:
            text += f": {said}"
        if response.status_code == 401:
            found = Challenge.parse(response.headers.get("WWW-Authenticate", ""))
            if found.params.get("error"):
                text += f" [{found.params['error']}]"
            text += (
                f" (user {self.username!r})" if self.username else " (no credentials configured)"
            )
        return type(typed)(
            text + ".", code=typed.code, http_status=typed.http_status, detail=typed.detail
        )

    # -- manifests -----------------------------------------------------------------------------

    def head_manifest(self, repository: str, reference: str) -> ManifestRef | None:
        """HEAD /v2/<name>/manifests/<reference> (end-3); None when the remote has none."""
        try:
            response = self._request(
                "HEAD",
                f"/v2/{repository}/manifests/{quote(reference)}",
                scope=repository_scope(repository, "pull"),
                headers={"Accept": MANIFEST_ACCEPT},
            )
        except errors.RegistryNotFound:
            return None
        return ManifestRef(
            digest=response.headers.get("Docker-Content-Digest", ""),
            media_type=response.headers.get("Content-Type", "").split(";")[0].strip(),
            size=int(response.headers.get("Content-Length") or 0),
        )

    def get_manifest(self, repository: str, reference: str) -> tuple[str, str, bytes]:
        """GET /v2/<name>/manifests/<reference> (end-3): (digest, media type, body)."""
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{quote(reference)}",
            scope=repository_scope(repository, "pull"),
            headers={"Accept": MANIFEST_ACCEPT},
        )
        body = response.content
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return "sha256:" + hashlib.sha256(body).hexdigest(), media_type, body

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT /v2/<name>/manifests/<reference> (end-7). Returns the digest the remote stored."""
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{quote(reference)}",
            scope=repository_scope(repository, "pull,push"),
            headers={"Content-Type": media_type},
            data=body,
            ok=(201,),
        )
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        stored = response.headers.get("Docker-Content-Digest") or digest
        if stored != digest:
            raise errors.RegistryProtocolError(
                f"{self.label} stored the manifest for {reference} as {stored}, not {digest}.",
                code="DIGEST_INVALID",
            )
        return stored

    # -- blobs ---------------------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        """HEAD /v2/<name>/blobs/<digest> (end-2)."""
        try:
            self._request(
                "HEAD",
                f"/v2/{repository}/blobs/{digest}",
                scope=repository_scope(repository, "pull"),
            )
        except errors.RegistryNotFound:
            return False
        return True

    def get_blob(self, repository: str, digest: str) -> requests.Response:
        """GET /v2/<name>/blobs/<digest> (end-2), streamed: the caller reads and closes it."""
        return self._request(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scope=repository_scope(repository, "pull"),
            stream=True,
        )

    def upload_blob(
        self,
        repository: str,
        *,
        digest: str,
        size: int,
        read: Callable[[int], bytes],
        chunk_size: int,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        """Upload blob `digest` of `size` bytes, read from its source as the requests send them
        and hashed on the way (SHA-256): up to `chunk_size` bytes in one PUT, bigger blobs in
        PATCHes of `chunk_size` bytes and a closing PUT with the rest (POST /uploads/ end-4a,
        PATCH end-5, PUT end-6).

        `read(n)` gives up to `n` more bytes of the blob; pieces of at most READ_PIECE bytes go
        straight from it to the socket, so an upload holds that much memory whatever the blob's
        size. `on_bytes(n)` hears of each part sent; it may raise to stop the upload (the open
        upload is then abandoned; the remote purges it anyway). Raises RegistryProtocolError when
        the bytes do not match `digest` or end before `size`: the remote commits nothing then
        (it checks the digest itself, too).
        """
        scope = repository_scope(repository, "pull,push")
        started = self._request("POST", f"/v2/{repository}/blobs/uploads/", scope=scope, ok=(202,))
        location = self._location(started)
        hasher = hashlib.sha256()
        sent = 0
        committed = False
        try:
            while size - sent > chunk_size:
                part = _Part(read, chunk_size, hasher, digest=digest, offset=sent, total=size)
                location = self._patch(location, scope, part, sent)
                sent += chunk_size
                if on_bytes is not None:
                    on_bytes(chunk_size)
            last = _Part(read, size - sent, hasher, digest=digest, offset=sent, total=size)
            separator = "&" if "?" in location else "?"
            try:
                self._request(
                    "PUT",
                    f"{location}{separator}digest={quote(digest)}",
                    scope=scope,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(len(last)),
                    },
                    data=last if len(last) else b"",
                    ok=(201,),
                )
            except errors.RegistryError:
                if last.read_all:
                    _check_digest(hasher, digest)  # a damaged source says so more plainly
                raise
            committed = True
            _check_digest(hasher, digest)
            if on_bytes is not None and len(last):
                on_bytes(len(last))
        finally:
            if not committed:
                self._abandon(location, scope)

    def _patch(self, location: str, scope: str, chunk: _Part, offset: int) -> str:
        """PATCH one chunk at `offset` (end-5); the next chunk goes to the returned location."""
        response = self._request(
            "PATCH",
            location,
            scope=scope,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                "Content-Length": str(len(chunk)),
            },
            data=chunk,
            ok=(202,),
        )
        return self._location(response)

    def _location(self, response: requests.Response) -> str:
        location = response.headers.get("Location", "")
        if not location:
            raise errors.RegistryProtocolError(
                f"{self.label} opened an upload without a Location.", code="NO_LOCATION"
            )
        return urljoin(f"{self.base_url}/", location)

    def _abandon(self, location: str, scope: str) -> None:
        """DELETE /v2/<name>/blobs/uploads/<id> (distribution's cancel): best effort, the remote
        purges abandoned uploads anyway."""
        with contextlib.suppress(errors.RegistryError):
            self._request("DELETE", location, scope=scope, ok=(204, 404))


class TokenExpired(errors.RegistryAuthError):
    """A 401 on a request whose body cannot be sent again: most likely the token expired
    during a long upload (the credentials worked moments before), so trying again can help."""

    retryable = True


class _Part:
    """`size` bytes of a blob as a request body: read from the source while the request sends
    them, hashed on the way. Has a length, so the request carries a Content-Length."""

    def __init__(
        self,
        read: Callable[[int], bytes],
        size: int,
        hasher: hashlib._Hash,
        *,
        digest: str,
        offset: int,
        total: int,
    ) -> None:
        # Not `self.read`: a body with a `read` attribute is sent as a file, bypassing __iter__.
        self._read, self.size, self.hasher = read, size, hasher
        self.digest, self.offset, self.total = digest, offset, total
        self.read_all = size == 0

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        left = self.size
        while left:
            piece = self._read(min(READ_PIECE, left))
            if not piece:
                raise errors.RegistryProtocolError(
                    f"Blob {self.digest} ended after {self.offset + self.size - left} of the "
                    f"{self.total} bytes its manifest says: not copied.",
                    code="SIZE_INVALID",
                )
            self.hasher.update(piece)
            left -= len(piece)
            self.read_all = not left
            yield piece


def _check_digest(hasher: hashlib._Hash, digest: str) -> None:
    got = "sha256:" + hasher.hexdigest()
    if got != digest:
        raise errors.RegistryProtocolError(
            f"Blob {digest} arrived from the source as {got}: not copied.",
            code="DIGEST_INVALID",
        )


def _tls_reason(exc: Exception) -> str:
    """The reason in a TLS failure (e.g. "self-signed certificate"), without the wrapping."""
    found = re.search(r"certificate verify failed: ([^(]+?)\s*\(_ssl", str(exc))
    if found:
        return f"certificate verify failed: {found.group(1)}"
    return str(exc)[:200]
