"""Secrets Berth must read back (an access key's SK, a remote registry's password, a trigger's
signing secret), sealed with Fernet under a key derived from SECRET_KEY per purpose."""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "seal", "unseal"]


@cache
def _fernet(secret_key: str, purpose: str) -> Fernet:
    # HKDF, so neither the Fernet key nor one purpose's key reveals SECRET_KEY or another's.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str, *, purpose: str) -> str:
    """`text` encrypted and authenticated for `purpose` (a fixed label per kind of secret)."""
    return _fernet(settings.SECRET_KEY, purpose).encrypt(text.encode()).decode()


def unseal(token: str, *, purpose: str) -> str:
    """The text `seal` sealed. Raises InvalidToken when SECRET_KEY or the purpose differ."""
    return _fernet(settings.SECRET_KEY, purpose).decrypt(token.encode()).decode()
