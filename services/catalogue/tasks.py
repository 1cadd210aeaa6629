"""The catalogue's Celery tasks: its handlers under their messages' names, and the expiry sweep."""

from __future__ import annotations

from typing import Any

from celery import Celery

from services.catalogue import handlers, reservations
from shared.contracts import (
    CloseSale,
    CommitReservation,
    ReleaseReservation,
    ReserveStock,
    ReturnToStock,
)
from shared.messaging.consumers import (
    ConsumerResources,
    Handler,
    WorkerRuntime,
    register_consumers,
)
from shared.messaging.message import Message, utcnow
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.runtime import ServiceRuntime

SERVICE = "catalogue"
EXPIRY_SWEEP = "catalogue.reservation_expiry_sweep"
SWEEP_EVERY_SECONDS = 30.0

HANDLERS: dict[type[Message], Handler] = {
    ReserveStock: handlers.on_reserve_stock,
    CommitReservation: handlers.on_commit_reservation,
    ReleaseReservation: handlers.on_release_reservation,
    ReturnToStock: handlers.on_return_to_stock,
    CloseSale: handlers.on_close_sale,
}

SCHEDULE: dict[str, dict[str, Any]] = {
    EXPIRY_SWEEP: {
        "task": EXPIRY_SWEEP,
        "schedule": SWEEP_EVERY_SECONDS,
        # A sweep nobody ran in time is replaced by the next one rather than piling up.
        "options": {"queue": SERVICE, "expires": SWEEP_EVERY_SECONDS},
    }
}


async def _sweep(worker: WorkerRuntime) -> int:
    resources = await worker.resources()
    expired = await reservations.expire_due(
        UnitOfWorkFactory(resources.db, resources.outbox), now=utcnow()
    )
    if resources.background_relay is None:
        await resources.relay.drain()
    return expired


def register(celery_app: Celery, runtime: ServiceRuntime) -> None:
    async def setup() -> ConsumerResources:
        return runtime.consumer_resources()

    worker = WorkerRuntime(setup)
    register_consumers(celery_app, SERVICE, HANDLERS, worker)

    def reservation_expiry_sweep() -> int:
        return worker.run(lambda: _sweep(worker))

    celery_app.task(reservation_expiry_sweep, name=EXPIRY_SWEEP, ignore_result=True)
