"""Checkout's Celery tasks: the messages it consumes, and its periodic work. Tasks only wrap."""

from __future__ import annotations

from typing import Any

from celery import Celery

from services.checkout import handlers
from shared.contracts import BookChanged, ReservationCommitted
from shared.messaging.consumers import (
    ConsumerResources,
    Handler,
    WorkerRuntime,
    register_consumers,
)
from shared.messaging.message import Message
from shared.runtime import ServiceRuntime

SERVICE = "checkout"
EXPIRE_LAPSED_ORDERS = "checkout.expire_lapsed_orders"
SEND_PENDING_EMAILS = "checkout.send_pending_emails"
RESEND_UNCONFIRMED_COMMITS = "checkout.resend_unconfirmed_commits"
EXPIRY_EVERY_SECONDS = 60.0
EMAILS_EVERY_SECONDS = 30.0
# With a 30 s wait after payment: a payment in a session's last second, 5 minutes before its
# hold ends, still gets some eight more tries before the catalogue could let its copies go.
COMMITS_EVERY_SECONDS = 30.0

HANDLERS: dict[type[Message], Handler] = {
    BookChanged: handlers.on_book_changed,
    ReservationCommitted: handlers.on_reservation_committed,
}

SCHEDULE: dict[str, dict[str, Any]] = {
    EXPIRE_LAPSED_ORDERS: {
        "task": EXPIRE_LAPSED_ORDERS,
        "schedule": EXPIRY_EVERY_SECONDS,
        # A run nobody picked up in time is replaced by the next one rather than piling up.
        "options": {"queue": SERVICE, "expires": EXPIRY_EVERY_SECONDS},
    },
    SEND_PENDING_EMAILS: {
        "task": SEND_PENDING_EMAILS,
        "schedule": EMAILS_EVERY_SECONDS,
        "options": {"queue": SERVICE, "expires": EMAILS_EVERY_SECONDS},
    },
    RESEND_UNCONFIRMED_COMMITS: {
        "task": RESEND_UNCONFIRMED_COMMITS,
        "schedule": COMMITS_EVERY_SECONDS,
        "options": {"queue": SERVICE, "expires": COMMITS_EVERY_SECONDS},
    },
}


async def _expire_lapsed(worker: WorkerRuntime) -> int:
    resources = await worker.resources()
    closed = int(await resources.dependencies["orders"].expire_lapsed())
    await resources.relay.drain()
    return closed


async def _resend_commits(worker: WorkerRuntime) -> int:
    resources = await worker.resources()
    sent = int(await resources.dependencies["orders"].resend_unconfirmed_commits())
    await resources.relay.drain()
    return sent


async def _send_pending(worker: WorkerRuntime) -> int:
    resources = await worker.resources()
    return int(await resources.dependencies["emails"].deliver_pending())


def register(celery_app: Celery, runtime: ServiceRuntime, **dependencies: object) -> None:
    """The consumers, and the periodic jobs run with `orders` and `emails` from `dependencies`."""

    async def setup() -> ConsumerResources:
        return runtime.consumer_resources(**dependencies)

    worker = WorkerRuntime(setup)
    register_consumers(celery_app, SERVICE, HANDLERS, worker)

    # Periodic and harmless to repeat: no retries, the next beat tick is the retry.
    def expire_lapsed_orders() -> int:
        return int(worker.run(lambda: _expire_lapsed(worker)))

    def send_pending_emails() -> int:
        return int(worker.run(lambda: _send_pending(worker)))

    def resend_unconfirmed_commits() -> int:
        return int(worker.run(lambda: _resend_commits(worker)))

    celery_app.task(expire_lapsed_orders, name=EXPIRE_LAPSED_ORDERS, ignore_result=True)
    celery_app.task(send_pending_emails, name=SEND_PENDING_EMAILS, ignore_result=True)
    celery_app.task(resend_unconfirmed_commits, name=RESEND_UNCONFIRMED_COMMITS, ignore_result=True)
