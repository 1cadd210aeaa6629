"""Checkout's Celery tasks: the messages it consumes, and its periodic work. Tasks only wrap."""

from __future__ import annotations

from typing import Any

from celery import Celery

from services.checkout import handlers
from shared.contracts import BookChanged
from shared.messaging.consumers import WorkerRuntime, register_consumers

HANDLERS = {BookChanged: handlers.on_book_changed}

EXPIRE_LAPSED_ORDERS = "checkout.expire_lapsed_orders"
SEND_PENDING_EMAILS = "checkout.send_pending_emails"

SCHEDULE: dict[str, dict[str, object]] = {
    EXPIRE_LAPSED_ORDERS: {"task": EXPIRE_LAPSED_ORDERS, "schedule": 60.0},
    SEND_PENDING_EMAILS: {"task": SEND_PENDING_EMAILS, "schedule": 30.0},
}


def register(celery_app: Celery, runtime: WorkerRuntime) -> None:
    """The consumers, and the periodic jobs run with the worker's `orders` and `emails`."""
    register_consumers(celery_app, "checkout", HANDLERS, runtime)

    async def expire_lapsed() -> int:
        resources = await runtime.resources()
        return int(await resources.dependencies["orders"].expire_lapsed())

    async def send_pending() -> int:
        resources = await runtime.resources()
        return int(await resources.dependencies["emails"].deliver_pending())

    def expire_lapsed_orders(*_: Any) -> int:
        return int(runtime.run(expire_lapsed))

    def send_pending_emails(*_: Any) -> int:
        return int(runtime.run(send_pending))

    # Periodic and harmless to repeat: no retries, the next beat tick is the retry.
    celery_app.task(expire_lapsed_orders, name=EXPIRE_LAPSED_ORDERS, ignore_result=True)
    celery_app.task(send_pending_emails, name=SEND_PENDING_EMAILS, ignore_result=True)
