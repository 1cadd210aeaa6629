"""A catalogue worker killed (SIGKILL) in the middle of a reservation or a commit: the task comes
back once the visibility timeout has passed, a new worker runs it, and it takes effect once.

"In the middle" is made certain by holding the book's stock row locked from the test, so the
handler waits inside its transaction, with a burst of other tasks handled before it and queued
behind it.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from conftest import (
    CatalogueProbe,
    NewDatabase,
    RedisServer,
    isbn13,
    lock_waiters,
    report,
)
from sqlalchemy import func, select
from waiting import eventually

from services.catalogue import models as cat
from services.catalogue.schemas import BookCreate
from services.catalogue.service import BookService
from shared.contracts import CommitReservation, ReserveStock, StockLine
from shared.db import Database
from shared.messaging.celery_app import make_celery
from shared.messaging.publisher import CeleryPublisher
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade

pytestmark = pytest.mark.integration

VISIBILITY_TIMEOUT_SECONDS = 2
BURST = 12
# Burst messages sent before the one the worker is killed in.
BEFORE = 4


@pytest.fixture
async def catalogue_url(new_postgres_database: NewDatabase) -> str:
    url = new_postgres_database("catalogue")
    await asyncio.to_thread(upgrade, "services.catalogue:migrations", url)
    return url


@pytest.fixture
async def probe(catalogue_url: str) -> AsyncIterator[CatalogueProbe]:
    db = Database(catalogue_url)
    yield CatalogueProbe(db)
    await db.dispose()


@pytest.fixture
async def publisher(own_redis: RedisServer) -> AsyncIterator[CeleryPublisher]:
    sender = CeleryPublisher(make_celery("checkout", own_redis.url))
    yield sender
    await sender.close()


def kill(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)


def reserve(isbn: str, quantity: int) -> ReserveStock:
    return ReserveStock(
        order_id=uuid4(),
        lines=(StockLine(isbn13=isbn, quantity=quantity),),
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )


async def handled(probe: CatalogueProbe, message_ids: list[UUID]) -> int:
    async with probe.db.reading() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(cat.inbox)
                .where(cat.inbox.c.message_id.in_(message_ids))
            )
            or 0
        )


def send(publisher: CeleryPublisher, command: Any) -> None:
    """As the outbox relay sends: the message id is the task id (where a reply is stored)."""
    publisher.send_raw(
        command.task, command.traced().to_json_dict(), task_id=str(command.message_id)
    )


async def test_a_worker_killed_mid_task_has_it_redelivered_and_run_once(
    catalogue_url: str,
    probe: CatalogueProbe,
    publisher: CeleryPublisher,
    own_redis: RedisServer,
    run_worker: Callable[..., subprocess.Popen[bytes]],
    row_lock: Any,
) -> None:
    env = {
        "CATALOGUE_DATABASE_URL": catalogue_url,
        "REDIS_URL": own_redis.url,
        "BOOKSHOP_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_SECONDS),
    }
    books = BookService(uow=UnitOfWorkFactory(probe.db, cat.outbox), db=probe.db)
    held_isbn, burst_isbn = isbn13(101), isbn13(102)
    await books.upsert_books(
        books=[
            BookCreate(isbn13=held_isbn, title="Held", price_pence=999, stock=5),
            BookCreate(isbn13=burst_isbn, title="Burst", price_pence=999, stock=BURST),
        ],
        actor="test",
    )
    worker = run_worker("catalogue", env, ready_timeout=90)
    target = reserve(held_isbn, 2)
    burst = [reserve(burst_isbn, 1) for _ in range(BURST)]
    phases = {
        "reserve": (target, burst),
        "commit": (
            CommitReservation(order_id=target.order_id),
            [CommitReservation(order_id=command.order_id) for command in burst],
        ),
    }
    done_before_kill: dict[str, int] = {}
    redelivered_after: dict[str, float] = {}
    for phase, (blocked, others) in phases.items():
        # Some of the burst is handled, then the worker blocks inside the target's transaction
        # (the test holds its stock row), with the rest of the burst queued behind it.
        ids = [blocked.message_id, *(command.message_id for command in others)]
        await row_lock(catalogue_url, "stock", held_isbn)
        for command in [*others[:BEFORE], blocked, *others[BEFORE:]]:
            send(publisher, command)

        async def waiting() -> bool:
            return await lock_waiters(catalogue_url) == 1

        await eventually(waiting, timeout=30, what=f"the {phase} handler waiting on the lock")
        kill(worker)
        done_before_kill[phase] = await handled(probe, ids)
        await row_lock.release()
        worker = run_worker("catalogue", env, ready_timeout=90)
        killed_at = time.monotonic()

        async def all_done(ids: list[UUID] = ids) -> bool:
            return await handled(probe, ids) == len(ids)

        await eventually(all_done, timeout=60, what=f"every {phase} handled after the kill")
        redelivered_after[phase] = time.monotonic() - killed_at
        if phase == "reserve":
            reply = publisher.app.backend.get_task_meta(str(target.message_id))
            assert reply["status"] == "SUCCESS" and reply["result"]["ok"] is True
            assert await probe.counters(held_isbn) == (5, 2)
            assert await probe.counters(burst_isbn) == (BURST, BURST)

    statuses = await probe.reservations()
    assert set(statuses.values()) == {"committed"} and len(statuses) == BURST + 1
    assert await probe.counters(held_isbn) == (3, 0)
    assert await probe.counters(burst_isbn) == (0, 0)
    [sold] = await probe.ledger(held_isbn, "sold")
    assert (sold.on_hand_change, sold.reserved_change) == (-2, -2)
    assert len(await probe.ledger(held_isbn, "reserved")) == 1
    assert len(await probe.ledger(burst_isbn, "reserved")) == BURST
    assert len(await probe.ledger(burst_isbn, "sold")) == BURST
    assert await probe.count(cat.inbox) == 2 * (BURST + 1)
    report(
        "worker killed mid-task",
        kills=len(phases),
        tasks_sent=2 * (BURST + 1),
        handled_when_killed=done_before_kill,
        all_handled_seconds_after_restart={k: round(v, 1) for k, v in redelivered_after.items()},
        checked="the reply stored for the redelivered reserve; counters (3,0) and (0,0); one "
        "reserved and one sold ledger row per order; one inbox row per message",
    )
