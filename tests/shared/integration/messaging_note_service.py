"""A one-command service for testing the messaging layer with a real worker process.

Run as a script it is that worker: `python messaging_note_service.py DATABASE_URL REDIS_URL`.
"""

from __future__ import annotations

import sys
from typing import ClassVar

import msgspec
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from shared.db import Database
from shared.messaging.celery_app import make_celery
from shared.messaging.consumers import ConsumerResources, WorkerRuntime, register_consumers
from shared.messaging.inbox import define_inbox
from shared.messaging.message import Command
from shared.messaging.outbox import OutboxRelay, define_outbox
from shared.messaging.unit_of_work import UnitOfWork

metadata = MetaData()
outbox = define_outbox(metadata)
inbox = define_inbox(metadata)
effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("note", String(50)),
)


class Note(Command, frozen=True, kw_only=True):
    task: ClassVar[str] = "catalogue.test_note.v1"
    replies: ClassVar[bool] = True
    note: str


class NoteCount(msgspec.Struct):
    count: int


async def on_note(message: Note, *, uow: UnitOfWork) -> NoteCount:
    await uow.session.execute(insert(effects).values(note=message.note))
    count = await uow.session.scalar(select(func.count()).select_from(effects))
    return NoteCount(count=count or 0)


def main(database_url: str, redis_url: str) -> None:
    app = make_celery("catalogue", redis_url)

    async def setup() -> ConsumerResources:
        db = Database(database_url)
        return ConsumerResources(
            db=db, inbox=inbox, outbox=outbox, relay=OutboxRelay(db, outbox, lambda *_: None)
        )

    register_consumers(app, "catalogue", {Note: on_note}, WorkerRuntime(setup))
    app.worker_main(
        [
            "worker",
            "-Q",
            "catalogue",
            "-P",
            "solo",
            "-l",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
