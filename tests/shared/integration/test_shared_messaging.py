"""The messaging layer against a real Redis and a real Celery worker, on SQLite and Postgres."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import msgspec
import pytest
import redis
from celery import Celery
from messaging_note_service import Note, NoteCount, effects, metadata, outbox
from sqlalchemy import func, select

from shared.db import Database
from shared.messaging.celery_app import make_celery
from shared.messaging.errors import BrokerUnavailable, ReplyTimeout
from shared.messaging.message import Command
from shared.messaging.outbox import OutboxRelay
from shared.messaging.publisher import CeleryPublisher
from shared.messaging.unit_of_work import UnitOfWorkFactory


class Unhandled(Command, frozen=True, kw_only=True):
    task: ClassVar[str] = "checkout.nobody_listens.v1"
    replies: ClassVar[bool] = True


async def count_effects(db: Database) -> int:
    async with db.reading() as session:
        return await session.scalar(select(func.count()).select_from(effects)) or 0


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture
def celery_app(redis_url: str, database_url: str, tmp_path: Path) -> Iterator[Celery]:
    """A real worker process consuming the `catalogue` queue with the note handler."""
    log_path = tmp_path / "worker.log"
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("messaging_note_service.py")),
            database_url,
            redis_url,
        ],
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while "ready." not in log_path.read_text(errors="replace"):
        assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.1)
    yield make_celery("catalogue", redis_url)
    process.terminate()
    process.wait(timeout=10)


async def test_a_command_is_handled_once_however_often_it_is_delivered(
    db: Database, celery_app: Celery
) -> None:
    publisher = CeleryPublisher(celery_app)
    message = Note(note="first")
    first = await publisher.request(message, NoteCount, timeout=10)
    again = await publisher.request(message, NoteCount, timeout=10)
    assert first.count == 1
    assert again.count == 1, "a redelivered message answers as before"
    assert await count_effects(db) == 1
    await publisher.close()


async def test_requests_awaited_together_each_get_their_reply(
    db: Database, celery_app: Celery
) -> None:
    publisher = CeleryPublisher(celery_app)
    notes = [Note(note=f"note {n}") for n in range(10)]
    # Two of them the same command, awaited at once (a client's retry racing the first try).
    replies = await asyncio.gather(
        *(publisher.request(note, NoteCount, timeout=10) for note in [*notes, notes[0]])
    )
    assert sorted(reply.count for reply in replies[:-1]) == list(range(1, 11))
    assert replies[-1] == replies[0]
    assert await count_effects(db) == 10
    await publisher.close()


async def test_outbox_messages_leave_only_when_their_transaction_commits(
    db: Database, celery_app: Celery
) -> None:
    publisher = CeleryPublisher(celery_app)
    relay = OutboxRelay(db, outbox, publisher.send_raw)
    uow = UnitOfWorkFactory(db, outbox)
    with pytest.raises(RuntimeError):
        async with uow() as unit:
            await unit.publish(Note(note="rolled back"))
            raise RuntimeError("the change failed")
    async with uow() as unit:
        await unit.publish(Note(note="committed"))
    assert await relay.drain() == 1
    assert await relay.drain() == 0, "published rows are not sent again"
    deadline = time.monotonic() + 10
    while await count_effects(db) < 1 and time.monotonic() < deadline:
        await _sleep(0.05)
    assert await count_effects(db) == 1
    async with db.reading() as session:
        notes = (await session.execute(select(effects.c.note))).scalars().all()
    assert notes == ["committed"]
    await publisher.close()


async def test_a_reply_that_never_comes_times_out_within_the_bound(redis_url: str) -> None:
    publisher = CeleryPublisher(make_celery("checkout", redis_url))
    started = time.monotonic()
    with pytest.raises(ReplyTimeout, match="no reply"):
        await publisher.request(Unhandled(), NoteCount, timeout=0.5)
    assert time.monotonic() - started < 2
    await publisher.close()


def test_a_task_sent_leaves_its_reply_to_our_listener(redis_url: str) -> None:
    """Celery's own result consumer does not subscribe to it too, on a connection nobody
    reads (every reply was delivered there and left unread)."""
    app = make_celery("checkout", redis_url)
    sent = app.send_task(Unhandled.task, args=[Unhandled().to_json_dict()], queue="nobody")
    assert sent.id
    assert not app.backend.result_consumer.subscribed_to
    with redis.Redis.from_url(redis_url) as client:
        client.delete("nobody")


async def test_an_unreachable_broker_is_reported_quickly() -> None:
    publisher = CeleryPublisher(make_celery("checkout", "redis://127.0.0.1:1/0"))
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match="unreachable"):
        await publisher.request(Unhandled(), NoteCount, timeout=5)
    assert time.monotonic() - started < 5
    await publisher.close()


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def test_messages_carry_their_identity_through_json() -> None:
    message = Note(note="x", request_id="req-1")
    decoded = Note.from_json_dict(msgspec.json.decode(msgspec.json.encode(message.to_json_dict())))
    assert decoded == message
    assert isinstance(decoded.message_id, uuid.UUID)
    assert decoded.sent_at.tzinfo is not None and decoded.sent_at <= datetime.now(UTC)
