"""The request id that follows a reader's Buy from the web request through every Celery task.

Set by the web middleware (from `X-Request-ID` or new), carried in each message's
`request_id`, and bound again by the consumer that handles it, so every log line of one
journey, in every service, carries the same id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

HEADER = "x-request-id"


def current() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value else None


def new() -> str:
    return uuid.uuid4().hex


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Bind `request_id` to the logs of the code inside the block."""
    if not request_id:
        yield
        return
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        yield


def sanitise(value: str | None) -> str | None:
    """Accept a caller's id only if it is short and plain: it ends up in every log line."""
    if value and len(value) <= 64 and all(c.isalnum() or c in "-_." for c in value):
        return value
    return None
