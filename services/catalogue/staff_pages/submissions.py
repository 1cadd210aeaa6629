"""Forms whose post must act once: a double click (or a browser's retry, a reload of the POST)
sends the same form twice, and an adjustment of -1 sent twice takes two copies off the shelf;
a delivery confirmed twice puts its copies on twice.

Each rendering of such a form carries a fresh token. The first post with it claims it in
Redis, acts, and keeps what it wrote under the token; a repeat waits for that and answers with
it, without acting again. A refused first post gives the token up, so the repeat (or the
corrected form) is heard.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.asyncio import Redis

from shared.errors import Conflict

KEY_PREFIX = "bookshop:catalogue:submission"
MAX_TOKEN = 64
# Longer than any form's work takes; a claim left by a process that died ends with it.
CLAIM_SECONDS = 120
# Long enough for any double click, retry or reload of the post.
DONE_SECONDS = 24 * 3600
WAIT_FOR_FIRST_SECONDS = 10.0
# What a post wrote, as kept: Redis hands bytes back, or str to a client that decodes.
Kept = bytes | str


def new_token() -> str:
    return secrets.token_urlsafe(16)


class Submissions:
    def __init__(self, *, redis: Redis) -> None:
        self._redis = redis

    async def once(self, token: str, act: Callable[[], Awaitable[bytes]], *, busy: str) -> Kept:
        """What `act` wrote, run for the first post of `token` only; a post of the same token
        gets the first one's result. `busy`: the Conflict's message when the first is still
        at work after WAIT_FOR_FIRST_SECONDS. A post without a token (a page from before
        tokens) acts."""
        if not token:
            return await act()
        claim_key, done_key = self._claim_key(token), self._done_key(token)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_FIRST_SECONDS
        while True:
            # Done first: the claim of a post acted on ends (CLAIM_SECONDS) long before its result.
            done = await self._redis.get(done_key)
            if done is not None:
                return done
            if await self._redis.set(claim_key, b"claimed", nx=True, ex=CLAIM_SECONDS):
                try:
                    result = await act()
                except BaseException:
                    await self._redis.delete(claim_key)
                    raise
                await self._redis.set(done_key, result, ex=DONE_SECONDS)
                return result
            if loop.time() >= deadline:
                raise Conflict(busy)
            await asyncio.sleep(0.1)

    async def once_per_form(
        self, form: Mapping[str, Any], act: Callable[[], Awaitable[bytes]], *, busy: str
    ) -> Kept:
        """`once`, for a form whose `submission` field carries the token of its rendering."""
        return await self.once(str(form.get("submission") or ""), act, busy=busy)

    async def result(self, token: str) -> Kept | None:
        """What the post of `token` wrote, None if none has acted (or it was long ago)."""
        return await self._redis.get(self._done_key(token))

    @staticmethod
    def _claim_key(token: str) -> str:
        return f"{KEY_PREFIX}:claim:{token[:MAX_TOKEN]}"

    @staticmethod
    def _done_key(token: str) -> str:
        return f"{KEY_PREFIX}:done:{token[:MAX_TOKEN]}"
