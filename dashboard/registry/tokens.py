"""Registry bearer tokens: the signing key, its certificate, scopes and JWT minting.

Facts this follows (REGISTRY-FACTS.md §1): RS256 with an `x5c` header works on distribution
2.8 and 3.x; `aud` must be a plain string; `exp` is required; names are matched literally.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings

ALL_ACTIONS = ("pull", "push", "delete")
_SCOPE_TYPE = re.compile(r"^[a-z0-9]+(?:\([a-z0-9]+\))?$")


@dataclass(frozen=True)
class Scope:
    """One requested resource: `type:name:actions` (the name may itself contain `:`)."""

    type: str
    name: str
    actions: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str) -> Scope | None:
        """Parse a scope string; return None when it is malformed."""
        parts = text.split(":")
        if len(parts) < 3:
            return None
        rtype, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
        if not _SCOPE_TYPE.match(rtype) or not name or len(name) > 256:
            return None
        acts = tuple(dict.fromkeys(a.strip() for a in actions.split(",") if a.strip()))
        return cls(type=rtype.split("(")[0], name=name, actions=acts)

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def repository_scope(name: str, *actions: str) -> Scope:
    return Scope(type="repository", name=name, actions=tuple(actions))


CATALOG_SCOPE = Scope(type="registry", name="catalog", actions=("*",))


def generate_signing_key(key_file: Path, cert_file: Path) -> None:
    """Write a new RSA key (PKCS8 PEM) and a self-signed certificate the registry trusts."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Berth token signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_signing_key() -> bool:
    """Create the signing key and certificate when absent. Returns True when it created them."""
    key_file, cert_file = Path(settings.TOKEN_KEY_FILE), Path(settings.TOKEN_CERT_FILE)
    if key_file.exists() and cert_file.exists():
        return False
    generate_signing_key(key_file, cert_file)
    _signer_for.cache_clear()
    return True


@dataclass(frozen=True)
class _Signer:
    key_pem: bytes
    # Loaded once: parsing the PEM on every token (OpenSSL 3 checks the RSA key) costs ~80 ms.
    key: rsa.RSAPrivateKey
    x5c: list[str]


@lru_cache(maxsize=4)
def _signer_for(key_file: str, cert_file: str, mtime: float) -> _Signer:
    key_pem = Path(key_file).read_bytes()
    cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{key_file} is not an RSA key (tokens are signed with RS256).")
    return _Signer(key_pem=key_pem, key=key, x5c=[base64.b64encode(der).decode()])


def _signer() -> _Signer:
    key_file, cert_file = str(settings.TOKEN_KEY_FILE), str(settings.TOKEN_CERT_FILE)
    return _signer_for(key_file, cert_file, Path(key_file).stat().st_mtime)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    issued_at: dt.datetime


def issue_token(*, subject: str, access: list[Scope], ttl: int | None = None) -> IssuedToken:
    """Sign a registry token granting exactly `access` to `subject`."""
    signer = _signer()
    ttl = ttl or settings.TOKEN_TTL
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    claims = {
        "iss": settings.TOKEN_ISSUER,
        "sub": subject,
        "aud": settings.TOKEN_SERVICE,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()) - 5,
        "exp": int(now.timestamp()) + ttl,
        "jti": uuid.uuid4().hex,
        "access": [{"type": s.type, "name": s.name, "actions": list(s.actions)} for s in access],
    }
    token = jwt.encode(claims, signer.key, algorithm="RS256", headers={"x5c": signer.x5c})
    return IssuedToken(token=token, expires_in=ttl, issued_at=now)
