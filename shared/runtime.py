"""The wiring every service shares: its database, units of work, Celery app, publisher and relay.

Built from settings by the service's app factory or worker factory; nothing connects
until first used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from celery import Celery
from sqlalchemy import Table

from shared.db import Database
from shared.messaging.celery_app import make_celery
from shared.messaging.consumers import ConsumerResources
from shared.messaging.outbox import OUTBOX, OutboxRelay
from shared.messaging.publisher import CeleryPublisher
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.settings import ServiceSettings


@dataclass
class ServiceRuntime:
    service: str
    db: Database
    uow: UnitOfWorkFactory
    celery: Celery
    publisher: CeleryPublisher
    relay: OutboxRelay
    inbox: Table
    outbox: Table

    def consumer_resources(self, **dependencies: object) -> ConsumerResources:
        return ConsumerResources(
            db=self.db,
            inbox=self.inbox,
            outbox=self.outbox,
            relay=self.relay,
            dependencies=dict(dependencies),
            background_relay=self.new_relay,
        )

    def new_relay(self) -> OutboxRelay:
        """A relay with its own database pool, for a thread with its own event loop."""
        return OutboxRelay(Database(self.db.url), self.outbox, self.publisher.send_raw)

    @contextlib.asynccontextmanager
    async def relaying(self) -> AsyncIterator[None]:
        """Run the outbox relay in the background for as long as the web app lives."""
        task = asyncio.create_task(self.relay.run(), name=f"{self.service}-outbox-relay")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        await self.publisher.close()
        await self.db.dispose()


def build_runtime(settings: ServiceSettings, *, outbox: Table, inbox: Table) -> ServiceRuntime:
    db = Database(settings.resolved_database_url())
    celery = make_celery(settings.service_name, settings.redis_url)
    publisher = CeleryPublisher(celery)
    relay = OutboxRelay(db, outbox, publisher.send_raw)
    db.on_commit(OUTBOX, relay.kick)
    return ServiceRuntime(
        service=settings.service_name,
        db=db,
        uow=UnitOfWorkFactory(db, outbox),
        celery=celery,
        publisher=publisher,
        relay=relay,
        inbox=inbox,
        outbox=outbox,
    )
