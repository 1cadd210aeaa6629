"""Base classes of every inter-service message.

A command has one handler, in the service whose queue prefixes its task name
(`catalogue.reserve_stock.v1` runs on the `catalogue` queue). An event is named by its
producer (`catalogue.book_changed.v1`) and lists its subscribers; each subscriber gets
its own task, `<subscriber>.<event name>`, on its own queue, so one event reaches all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

import msgspec

from shared.observability.request_id import current as current_request_id

M = TypeVar("M", bound="Message")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """Ids and the minimum facts, JSON only. `message_id` keys the consumers' inbox."""

    task: ClassVar[str]
    message_id: UUID = msgspec.field(default_factory=uuid4)
    sent_at: datetime = msgspec.field(default_factory=utcnow)
    request_id: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)

    def traced(self: M) -> M:
        """This message carrying the current request id, so its handler logs under it too."""
        if self.request_id is not None:
            return self
        request_id = current_request_id()
        return self if request_id is None else msgspec.structs.replace(self, request_id=request_id)

    @classmethod
    def from_json_dict(cls: type[M], payload: dict[str, Any]) -> M:
        return msgspec.convert(payload, cls)

    @classmethod
    def deliveries(cls) -> tuple[str, ...]:
        """The Celery task names this message is sent to."""
        raise NotImplementedError


class Command(Message, frozen=True, kw_only=True):
    """Asks one service to do something; its task name starts with that service's queue."""

    replies: ClassVar[bool] = False

    @classmethod
    def deliveries(cls) -> tuple[str, ...]:
        return (cls.task,)


class Event(Message, frozen=True, kw_only=True):
    """Tells whoever subscribed that something happened in the producing service."""

    subscribers: ClassVar[tuple[str, ...]]

    @classmethod
    def deliveries(cls) -> tuple[str, ...]:
        return tuple(delivery_task(subscriber, cls) for subscriber in cls.subscribers)


def delivery_task(subscriber: str, event: type[Event]) -> str:
    return f"{subscriber}.{event.task}"


def queue_of(task_name: str) -> str:
    """Every task runs on the queue its name starts with."""
    return task_name.split(".", 1)[0]
