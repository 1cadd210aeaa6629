"""Where a process waits for the replies to its commands: one Redis pub/sub connection for all.

A request subscribes to its reply's channel on the shared connection for as long as it waits.
Each request opening a subscription of its own cost a TCP connection, its handshake and its
teardown on every Buy. One task reads the connection (redis-py's `PubSub.run`) and hands each
message to the queue of the request waiting on its channel. If the connection breaks, every
request waiting fails at once, as it would have on a connection of its own, and the next
request opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from shared.messaging.errors import BrokerUnavailable

log = logging.getLogger(__name__)


class ReplyListener:
    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        # A command sent again with its id (a client's retry) may be awaited twice at once.
        self._waiting: dict[str, list[asyncio.Queue[bytes | BrokerUnavailable]]] = {}
        self._starting = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def waiting_for(
        self, key: str | bytes
    ) -> AsyncIterator[asyncio.Queue[bytes | BrokerUnavailable]]:
        """Messages published on `key` from now until the block ends, in a queue; a
        BrokerUnavailable in it says the connection broke meanwhile."""
        channel = key.decode() if isinstance(key, bytes) else key
        queue: asyncio.Queue[bytes | BrokerUnavailable] = asyncio.Queue()
        self._waiting.setdefault(channel, []).append(queue)
        try:
            pubsub = await self._running()
            await pubsub.subscribe(**{channel: self._deliver})
            yield queue
        finally:
            waiters = self._waiting[channel]
            waiters.remove(queue)
            if not waiters:
                del self._waiting[channel]
            # A broken connection (its reader ended) is replaced whole, not unsubscribed from:
            # that would connect it again.
            if not waiters and self._pubsub is not None and self._listening():
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(channel)

    async def _running(self) -> PubSub:
        # One connection: the first requests of a process must not each open their own.
        async with self._starting:
            if self._pubsub is None or not self._listening():
                if self._pubsub is not None:
                    with contextlib.suppress(RedisError, OSError):
                        await self._pubsub.aclose()
                pubsub = self._client.pubsub()
                await pubsub.connect()
                self._reader = asyncio.create_task(self._read(pubsub), name="reply-listener")
                self._pubsub = pubsub
            return self._pubsub

    def _listening(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def _read(self, pubsub: PubSub) -> None:
        """Hand each reply on until the connection breaks, then fail every request waiting.

        The connection is not mended here: redis-py reconnecting it in this reader raced a
        request subscribing on it, which reconnected it too, and two coroutines read one socket
        (a RuntimeError, answered 500, while Redis restarted). The next request opens a new
        connection, under `_starting`.
        """
        try:
            await pubsub.run()
        except (RedisError, OSError) as error:
            log.warning("reply listener: %s", error)
            failure = BrokerUnavailable(f"the message broker is unreachable: {error}")
            for waiters in self._waiting.values():
                for queue in waiters:
                    queue.put_nowait(failure)

    def _deliver(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        for queue in self._waiting.get(
            channel.decode() if isinstance(channel, bytes) else channel, ()
        ):
            queue.put_nowait(message["data"])

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
        self._pubsub = self._reader = None
