"""The request id that follows a reader's Buy from the web request through every Celery task.

Set by the web middleware (from `X-Request-ID` or new), carried in each message's
`request_id`, and bound again by the consumer that handles it, so every log line of one
journey, in every service, carries the same id.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

import structlog

HEADER = "x-request-id"


def _structlog_variable() -> ContextVar[Any]:
    """The context variable structlog keeps for `request_id` (one per key, for the life of the
    process), named by the token of a binding: setting it directly costs a tenth of
    `bind_contextvars`, on every request."""
    token = structlog.contextvars.bind_contextvars(request_id=None)["request_id"]
    token.var.reset(token)
    return token.var


_VARIABLE = _structlog_variable()


def current() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value else None


def new() -> str:
    # Ids tell journeys apart in the logs and grant nothing, so they need not be unguessable:
    # 128 bits of the process's Mersenne Twister (seeded from the OS, reseeded in each forked
    # worker) cost a fifth of uuid4's system call on every request.
    return f"{random.getrandbits(128):032x}"


def bind(request_id: str) -> Token[Any]:
    """Bind `request_id` to the logs until `unbind`: the per-request path's cheaper `bound`."""
    return _VARIABLE.set(request_id)


def unbind(binding: Token[Any]) -> None:
    _VARIABLE.reset(binding)


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Bind `request_id` to the logs of the code inside the block."""
    if not request_id:
        yield
        return
    binding = bind(request_id)
    try:
        yield
    finally:
        unbind(binding)


def sanitise(value: str | None) -> str | None:
    """Accept a caller's id only if it is short and plain: it ends up in every log line."""
    if value and len(value) <= 64 and all(c.isalnum() or c in "-_." for c in value):
        return value
    return None
