"""A unit of work: one transaction in a service's database, with its outgoing messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.messaging.message import Message
from shared.messaging.outbox import stage


class UnitOfWork:
    """What a use case or handler works through: the session, and `publish` into the outbox."""

    def __init__(self, session: AsyncSession, outbox: Table) -> None:
        self.session = session
        self._outbox = outbox

    async def publish(self, *messages: Message) -> None:
        await stage(self.session, self._outbox, *messages)


class UnitOfWorkFactory:
    """Opens units of work on one service's database and outbox."""

    def __init__(self, db: Database, outbox: Table) -> None:
        self.db = db
        self.outbox = outbox

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[UnitOfWork]:
        async with self.db.writing() as session:
            yield UnitOfWork(session, self.outbox)
