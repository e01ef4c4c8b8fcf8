"""`ServiceError`: a refusal with SWR's error code, a message for the user and an HTTP status."""

from __future__ import annotations

from dashboard.registry.errors import RegistryError

PREFIX = "SVCSTG.SWR."


class ServiceError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        self.code = code if code.startswith(PREFIX) or "." in code else PREFIX + code
        self.message = message
        self.status = status
        super().__init__(f"{self.code}: {message}")

    @classmethod
    def from_registry(cls, exc: RegistryError, *, doing: str) -> ServiceError:
        """Wrap a registry failure met while `doing` something ("delete tag v1")."""
        return cls(
            "5001038",
            f"Could not {doing}: {exc.message}" + (f" [{exc.code}]" if exc.code else ""),
            exc.status,
        )


# SWR codes used across services (SWR-SPEC.md §3.3).
INVALID_PARAMETERS = "4000014"
INVALID_ORG_NAME = "4001028"
INVALID_IMAGE_NAME = "4001029"
INVALID_TAG = "4009021"
INVALID_PERMISSION = "4001066"
INVALID_USERNAME = "4001067"
DESCRIPTION_TOO_LONG = "4131012"
ORG_QUOTA_EXCEEDED = "4000097"
ORG_NOT_FOUND = "4040058"
ORG_EXISTS = "4090060"
ORG_NOT_EMPTY = "4060074"
REPO_NOT_EMPTY = "4060012"
IMAGE_NOT_FOUND = "4040010"
IMAGE_EXISTS = "4090006"
TAG_NOT_FOUND = "4041056"
MANIFEST_NOT_FOUND = "4041060"
FORBIDDEN = "4039002"
FORBIDDEN_ORG = "4037017"
FORBIDDEN_IMAGE = "4037018"
REGISTRY_UNAVAILABLE = "5001038"
AUTH_FAILED = "4010000"
