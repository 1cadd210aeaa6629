"""Forms whose post must act once: a double click (or a browser's retry) sends the same form
twice, and an adjustment of -1 sent twice takes two copies off the shelf.

Each rendering of such a form carries a fresh token. The first post with it claims it in
Redis and acts; a repeat waits for the first one and answers as it did, without acting again.
A refused first post gives the token up, so the repeat (or the corrected form) is heard.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from shared.errors import Conflict

KEY_PREFIX = "bookshop:catalogue:submission"
MAX_TOKEN = 64
# Longer than any adjustment takes; a claim left by a process that died ends with it.
CLAIM_SECONDS = 120
# Long enough for any double click, retry or reload of the post.
DONE_SECONDS = 24 * 3600
WAIT_FOR_FIRST_SECONDS = 10.0
_DONE = b"done"


def new_token() -> str:
    return secrets.token_urlsafe(16)


class Submissions:
    def __init__(self, *, redis: Redis) -> None:
        self._redis = redis

    async def once(self, token: str, act: Callable[[], Awaitable[None]]) -> None:
        """Run `act` for the first post of `token`; return without it when a post of the same
        token has done it already. A form without a token (a page from before tokens) acts."""
        if not token:
            await act()
            return
        key = f"{KEY_PREFIX}:{token[:MAX_TOKEN]}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_FIRST_SECONDS
        while True:
            if await self._redis.set(key, b"running", nx=True, ex=CLAIM_SECONDS):
                try:
                    await act()
                except BaseException:
                    await self._redis.delete(key)
                    raise
                await self._redis.set(key, _DONE, ex=DONE_SECONDS)
                return
            if await self._redis.get(key) == _DONE:
                return
            if loop.time() >= deadline:
                raise Conflict(
                    "An earlier click on this form is still being written: reload the page in "
                    "a moment to see the stock."
                )
            await asyncio.sleep(0.1)
