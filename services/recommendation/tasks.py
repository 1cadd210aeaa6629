"""The recommendation service's Celery tasks: its handlers under their messages' names."""

from __future__ import annotations

from typing import Any

from celery import Celery

from services.recommendation import handlers
from shared.contracts import ArticlePublished, BookChanged, OrderPaid, OrderRefunded
from shared.messaging.consumers import (
    ConsumerResources,
    Handler,
    WorkerRuntime,
    register_consumers,
)
from shared.messaging.message import Message
from shared.runtime import ServiceRuntime

SERVICE = "recommendation"

HANDLERS: dict[type[Message], Handler] = {
    BookChanged: handlers.on_book_changed,
    ArticlePublished: handlers.on_article_published,
    OrderPaid: handlers.on_order_paid,
    OrderRefunded: handlers.on_order_refunded,
}

SCHEDULE: dict[str, dict[str, Any]] = {}


def register(celery_app: Celery, runtime: ServiceRuntime, **dependencies: object) -> None:
    """The consumers; `recommendations` in `dependencies` serves published articles."""

    async def setup() -> ConsumerResources:
        return runtime.consumer_resources(**dependencies)

    register_consumers(celery_app, SERVICE, HANDLERS, WorkerRuntime(setup))
