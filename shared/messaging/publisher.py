"""Sending messages by task name, and awaiting the reply of a command that has one."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import msgspec
import redis.asyncio as aioredis
from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from shared.messaging.errors import BrokerUnavailable, RemoteFailure, ReplyTimeout
from shared.messaging.message import Command, Message, queue_of
from shared.messaging.replies import ReplyListener

R = TypeVar("R")

# How long a sender keeps trying to reach the broker before giving up on a message.
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0.1,
    "interval_step": 0.2,
    "interval_max": 0.5,
}


# A request with no reply yet after this long looks for one stored by an earlier send of the
# same command. Replies to a first send arrive in milliseconds.
STORED_REPLY_AFTER_SECONDS = 0.5


class CeleryPublisher:
    """Sends messages by name; a service never imports the handler's code."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        self._redis: aioredis.Redis | None = None
        self._replies: ReplyListener | None = None

    def send_raw(
        self, task_name: str, payload: dict[str, Any], *, task_id: str | None = None
    ) -> None:
        try:
            self.app.send_task(
                task_name,
                args=[payload],
                queue=queue_of(task_name),
                task_id=task_id,
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
            )
        except (KombuOperationalError, RedisError, OSError) as error:
            raise BrokerUnavailable(f"the message broker is unreachable: {error}") from error

    def send(self, message: Message) -> None:
        payload = message.traced().to_json_dict()
        for task_name in message.deliveries():
            self.send_raw(task_name, payload)

    async def request(self, command: Command, reply_type: type[R], *, timeout: float) -> R:
        """Send `command` and wait at most `timeout` seconds for its handler's reply.

        Subscribes to the result's channel before sending, so a fast reply cannot be missed.
        """
        if not command.replies:
            raise TypeError(f"{type(command).__name__} declares no reply")
        task_id = str(command.message_id)
        key = self.app.backend.get_key_for_task(task_id)
        try:
            # The whole wait is bounded, the broker's part included: a Redis that stops
            # answering without refusing (a lost route) must not hold the caller past it.
            async with asyncio.timeout(timeout), self._listener().waiting_for(key) as replies:
                await asyncio.to_thread(
                    self.send_raw, command.task, command.traced().to_json_dict(), task_id=task_id
                )
                return await self._reply(command, key, replies, reply_type)
        except TimeoutError as error:
            raise ReplyTimeout(f"no reply to {command.task} within {timeout:.1f}s") from error
        except RedisError as error:
            raise BrokerUnavailable(f"the message broker is unreachable: {error}") from error

    async def _reply(
        self,
        command: Command,
        key: str | bytes,
        replies: asyncio.Queue[bytes | BrokerUnavailable],
        reply_type: type[R],
    ) -> R:
        """The reply published on the result's channel, or, for a command sent again with the
        same id (a client's retry), the one stored the first time: Celery never overwrites a
        successful result, so none is published again. Looking for a stored one only when no
        reply came quickly keeps a Redis round trip off every first send."""
        stored_checked = False
        data: bytes | str | BrokerUnavailable
        while True:
            try:
                data = (
                    await replies.get()
                    if stored_checked
                    else await asyncio.wait_for(replies.get(), STORED_REPLY_AFTER_SECONDS)
                )
            except TimeoutError:
                stored_checked = True
                if (stored := await self._client().get(key)) is None:
                    continue
                data = stored
            if isinstance(data, BrokerUnavailable):
                raise data
            if (reply := self._decode_reply(command, data, reply_type)) is not None:
                return reply

    def _decode_reply(self, command: Command, data: bytes | str, reply_type: type[R]) -> R | None:
        """The reply in a stored result, None while the task is still pending or retrying."""
        meta = self.app.backend.decode_result(data)
        if meta["status"] == "SUCCESS":
            return msgspec.convert(meta["result"], reply_type)
        if meta["status"] == "FAILURE":
            raise RemoteFailure(f"{command.task} failed: {meta.get('result')}")
        return None

    def _listener(self) -> ReplyListener:
        if self._replies is None:
            self._replies = ReplyListener(self._client())
        return self._replies

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = aioredis.from_url(
                self.app.backend.url, socket_connect_timeout=2, socket_timeout=5
            )
        return self._redis

    async def close(self) -> None:
        if self._replies is not None:
            await self._replies.close()
            self._replies = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
