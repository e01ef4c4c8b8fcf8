"""Request signatures made with an access key, the way Huawei Cloud SDKs sign (`SDK-HMAC-SHA256`).

The client sends `Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b;c>,
Signature=<hex>` and `X-Sdk-Date: <YYYYMMDDTHHMMSSZ>`. The signature is the hex HMAC-SHA256,
keyed by the SK, of

    SDK-HMAC-SHA256 \\n <X-Sdk-Date> \\n hex(SHA-256(canonical request))

where the canonical request is the method, the path (each segment percent-encoded, a trailing
`/` added), the query (pairs sorted, percent-encoded), `name:value` of each signed header, the
signed header names, and hex(SHA-256(body)) (`X-Sdk-Content-Sha256` may carry it instead).
Berth keeps each SK sealed so that it can compute the same signature; `host` and `x-sdk-date`
must be signed, and the date must be within 15 minutes of Berth's clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone

from dashboard.models import AccessKey
from dashboard.services.credentials import access_key_secret, access_key_touch
from dashboard.services.errors import ServiceError

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
CONTENT_HASH_HEADER = "X-Sdk-Content-Sha256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW = dt.timedelta(minutes=15)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: Headers a signature must cover: without them it could be replayed elsewhere or forever.
REQUIRED_SIGNED = ("host", "x-sdk-date")

_AUTHORIZATION = re.compile(
    rf"^{ALGORITHM}\s+Access=(?P<access>[^,\s]+),\s*SignedHeaders=(?P<headers>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]{64})$"
)


class SignatureError(Exception):
    """A signed request Berth does not accept; the message says why."""


@dataclass(frozen=True)
class Authorization:
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def is_signed(request: HttpRequest) -> bool:
    """Whether the request claims an SDK signature (its Authorization names the algorithm)."""
    return request.headers.get("Authorization", "").startswith(ALGORITHM + " ")


def authorization_parse(value: str) -> Authorization:
    """The parts of an `SDK-HMAC-SHA256` Authorization header. Raises SignatureError."""
    match = _AUTHORIZATION.match(value.strip())
    if match is None:
        raise SignatureError(f"The Authorization header is not a valid {ALGORITHM} signature.")
    headers = tuple(match["headers"].lower().split(";"))
    missing = [name for name in REQUIRED_SIGNED if name not in headers]
    if missing:
        raise SignatureError(f"The signature must cover the headers {', '.join(missing)}.")
    return Authorization(match["access"], headers, match["signature"].lower())


def _encode(text: str) -> str:
    return quote(text, safe="~")


def canonical_uri(path: str) -> str:
    """Each segment of the (decoded) path percent-encoded, with a trailing `/`."""
    encoded = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(query_string: str) -> str:
    """The query's pairs, decoded, sorted and percent-encoded again, joined with `&`."""
    pairs = sorted(parse_qsl(query_string, keep_blank_values=True))
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in pairs)


def canonical_request(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: dict[str, str],
    signed_headers: tuple[str, ...],
    payload_hash: str,
) -> str:
    """SDK-HMAC-SHA256's canonical request; `headers` maps lowercase names to values."""
    lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query_string),
            lines,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def signature_for(*, secret_key: str, sdk_date: str, canonical: str) -> str:
    """The hex HMAC-SHA256 (keyed by the SK) of the string to sign for `canonical`."""
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{sdk_date}\n{digest}"
    return hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def _payload_hash(request: HttpRequest, body: bytes) -> str:
    declared = request.headers.get(CONTENT_HASH_HEADER, "").strip()
    actual = hashlib.sha256(body).hexdigest()
    if not declared:
        return actual
    if declared == UNSIGNED_PAYLOAD:
        # SDKs declare it for non-JSON bodies; the API reads only JSON, so a JSON body must be
        # covered by the signature.
        if body and (request.content_type or "").startswith("application/json"):
            raise SignatureError("A JSON body must be signed (not UNSIGNED-PAYLOAD).")
        return declared
    if not hmac.compare_digest(declared.lower(), actual):
        raise SignatureError(f"{CONTENT_HASH_HEADER} does not match the body.")
    return declared.lower()


def _sdk_date(request: HttpRequest, now: dt.datetime) -> str:
    value = request.headers.get(DATE_HEADER, "").strip()
    try:
        when = dt.datetime.strptime(value, DATE_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise SignatureError(f"{DATE_HEADER} must be a UTC time like 20260101T120000Z.") from None
    if abs(now - when) > MAX_SKEW:
        raise SignatureError(
            f"{DATE_HEADER} is more than 15 minutes from the server's time; check the clock."
        )
    return value


def signature_verify(request: HttpRequest, *, now: dt.datetime | None = None) -> User:
    """The user whose access key signed `request`. Raises SignatureError when the signature is
    malformed, stale, made with an unknown, disabled or unreadable key, or does not match."""
    authorization = authorization_parse(request.headers.get("Authorization", ""))
    sdk_date = _sdk_date(request, now or timezone.now())
    key = (
        AccessKey.objects.select_related("user")
        .filter(access_key=authorization.access_key, is_active=True, user__is_active=True)
        .first()
    )
    if key is None:
        raise SignatureError("The access key is unknown or disabled.")
    try:
        secret_key = access_key_secret(key=key)
    except ServiceError as exc:
        raise SignatureError(exc.message) from exc
    headers = {name.lower(): value for name, value in request.headers.items()}
    canonical = canonical_request(
        method=request.method or "GET",
        path=request.path,
        query_string=request.META.get("QUERY_STRING", ""),
        headers=headers,
        signed_headers=authorization.signed_headers,
        payload_hash=_payload_hash(request, request.body),
    )
    expected = signature_for(secret_key=secret_key, sdk_date=sdk_date, canonical=canonical)
    if not hmac.compare_digest(expected, authorization.signature):
        raise SignatureError("The request signature does not match.")
    access_key_touch(key=key)
    return key.user
