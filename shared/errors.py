"""Errors of the use cases, each with a message a person can act on; mapped to HTTP in one place (shared.web)."""

from __future__ import annotations


class ShopError(Exception):
    """Base of every error a use case raises on purpose. `status_code` is its HTTP meaning."""

    status_code = 400

    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class InvalidInput(ShopError):
    status_code = 400


class NotFound(ShopError):
    status_code = 404


class Conflict(ShopError):
    status_code = 409


class Unprocessable(ShopError):
    status_code = 422


class TemporarilyUnavailable(ShopError):
    """Another service or the broker did not answer in time: retry shortly."""

    status_code = 503

    def __init__(self, message: str, *, retry_after_seconds: int = 5) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
