"""Typed registry errors carrying what the UI needs: a message, the registry's code, a status."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every failure talking to the registry."""

    #: The HTTP status Berth answers with when this error reaches a user.
    status = 502
    #: Whether trying again later can help.
    retryable = False
    default_message = "The registry answered with an error."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str = "",
        http_status: int | None = None,
        detail: object = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = code
        self.http_status = http_status
        self.detail = detail
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} ({self.code})" if self.code else self.message


class RegistryUnavailable(RegistryError):
    status = 503
    retryable = True
    default_message = "The registry cannot be reached."


class RegistryTimeout(RegistryUnavailable):
    status = 504
    default_message = "The registry did not answer in time."


class RegistryAuthError(RegistryError):
    status = 502
    default_message = "The registry refused Berth's credentials."


class RegistryNotFound(RegistryError):
    status = 404
    default_message = "The registry does not have this."


class RegistryRateLimited(RegistryError):
    status = 503
    retryable = True
    default_message = "The registry is busy; try again shortly."


class RegistryProtocolError(RegistryError):
    status = 502
    default_message = "The registry gave an answer Berth does not understand."


class RegistryServerError(RegistryError):
    status = 502
    retryable = True
    default_message = "The registry failed to answer."


class RegistryUnsupported(RegistryError):
    status = 405
    default_message = "The registry does not allow this operation."
