"""Waiting, in tests, for what other processes do: ask again until it holds, up to a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 30.0, what: str = "it"
) -> T:
    """Ask `probe` every 0.1 s until it answers something true, and return that answer; fail,
    naming `what`, once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not (answer := await probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        await asyncio.sleep(0.1)
    return answer
