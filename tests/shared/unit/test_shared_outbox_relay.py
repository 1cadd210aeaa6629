"""Relays sharing a SQLite database (the web app's and the worker's) send each message once:
both read the same unsent rows and both sent them, so during an import every subscriber handled
each of the catalogue's messages twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import MetaData

from shared.db import Database
from shared.messaging.message import Command
from shared.messaging.outbox import OutboxRelay, define_outbox
from shared.messaging.unit_of_work import UnitOfWorkFactory

metadata = MetaData()
outbox = define_outbox(metadata)


class Note(Command, frozen=True, kw_only=True):
    task: ClassVar[str] = "catalogue.test_note.v1"
    note: str


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def test_two_relays_of_one_sqlite_file_send_each_message_once(db: Database) -> None:
    async with UnitOfWorkFactory(db, outbox)() as unit:
        await unit.publish(*(Note(note=str(n)) for n in range(300)))
    sent: list[str] = []

    def send(_task: str, payload: dict[str, Any]) -> None:
        time.sleep(0.0005)  # a broker's round trip, during which the other relay reads
        sent.append(payload["note"])

    # the second relay has its own pool, as the worker's own process would
    other = Database(db.url)
    try:
        counts = await asyncio.gather(
            OutboxRelay(db, outbox, send, batch_size=50).drain(),
            OutboxRelay(other, outbox, send, batch_size=50).drain(),
        )
    finally:
        await other.dispose()

    assert sorted(sent, key=int) == [str(n) for n in range(300)]
    assert sum(counts) == 300
