"""The transactional outbox: messages written with the change that caused them, published after commit.

A broker outage delays messages and loses none: rows stay unpublished until a relay
gets them out. Delivery is at least once; consumers' inboxes make that exactly once in effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, mark
from shared.messaging.message import Message, utcnow

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

Send = Callable[[str, dict[str, Any]], None]
OUTBOX = "outbox"
"""The mark of a transaction that staged messages (shared.db.mark): relays wake on it."""


def define_outbox(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column(
            "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        Column("message_id", GUID, nullable=False, unique=True),
        Column("kind", String(200), nullable=False),
        Column("deliveries", JSON, nullable=False),
        Column("payload", JSON, nullable=False),
        Column("created_at", DateTimeUTC, nullable=False),
        Column("published_at", DateTimeUTC, nullable=True, index=True),
    )


async def stage(session: AsyncSession, outbox: Table, *messages: Message) -> None:
    """Queue `messages` in the caller's transaction; they leave only if that transaction
    commits. Several go in one statement."""
    if not messages:
        return
    mark(session, OUTBOX)
    now = utcnow()
    rows = []
    for message in messages:
        traced = message.traced()
        rows.append(
            {
                "message_id": traced.message_id,
                "kind": traced.task,
                "deliveries": list(traced.deliveries()),
                "payload": traced.to_json_dict(),
                "created_at": now,
            }
        )
    await session.execute(insert(outbox), rows)


class OutboxRelay:
    """Publishes unpublished outbox rows, oldest first, and marks them published."""

    def __init__(self, db: Database, outbox: Table, send: Send, *, batch_size: int = 200) -> None:
        self._db = db
        self._outbox = outbox
        self._send = send
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._postgres = db.is_postgres
        self._one_sender = None if db.is_postgres else _sender_lock(db.url)

    def kick(self) -> None:
        """Wake the running relay loop now rather than at its next poll."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many messages went out.

        A broker failure part-way still records the rows sent before it, then raises.
        """
        query = (
            select(self._outbox.c.id, self._outbox.c.deliveries, self._outbox.c.payload)
            .where(self._outbox.c.published_at.is_(None))
            .order_by(self._outbox.c.id)
            .limit(self._batch_size)
        )
        published: list[int] = []
        if self._postgres:
            # Several relays (web and worker processes) may run at once: each takes its own
            # rows, and row locks block no other writer.
            async with self._db.writing() as session:
                rows = (await session.execute(query.with_for_update(skip_locked=True))).all()
                failure = await self._send_rows(rows, published)
                await self._mark_published(session, published)
        else:
            # SQLite has one write lock for the whole file: holding it while talking to the
            # broker would stall every handler behind the busy timeout's sleeps. So read, send,
            # then mark in a short write, one relay of the file at a time (the web app's and
            # the worker's): two reading the same unsent rows both sent them, and an import
            # of 5,000 books had every subscriber handle each of its messages twice.
            async with self._sending():
                async with self._db.reading() as session:
                    rows = (await session.execute(query)).all()
                failure = await self._send_rows(rows, published)
                if published:
                    async with self._db.writing() as session:
                        await self._mark_published(session, published)
        if failure is not None:
            raise failure
        return len(published)

    @contextlib.asynccontextmanager
    async def _sending(self) -> AsyncIterator[None]:
        if self._one_sender is None:
            yield
            return
        # on a thread: waiting for the other relay's batch must not stop this event loop
        await asyncio.to_thread(self._one_sender.acquire)
        try:
            yield
        finally:
            self._one_sender.release()

    async def _send_rows(
        self, rows: Sequence[Row[Any, Any, Any]], published: list[int]
    ) -> Exception | None:
        """Send each row's deliveries in order, adding its id to `published`; the first failure."""
        for row in rows:
            try:
                for task_name in row.deliveries:
                    await asyncio.to_thread(self._send, task_name, row.payload)
            except Exception as error:
                return error
            published.append(row.id)
        return None

    async def _mark_published(self, session: AsyncSession, published: list[int]) -> None:
        if published:
            await session.execute(
                update(self._outbox)
                .where(self._outbox.c.id.in_(published))
                .values(published_at=utcnow())
            )

    async def drain(self) -> int:
        total = 0
        while sent := await self.publish_pending():
            total += sent
        return total

    async def run(self, *, poll_seconds: float = 1.0) -> None:
        """Publish until cancelled; a broker outage is logged and retried with backoff."""
        backoff = poll_seconds
        while True:
            try:
                await self.drain()
                backoff = poll_seconds
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "outbox relay could not publish; retrying in %.1fs", backoff, exc_info=True
                )
                backoff = min(backoff * 2, 30.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)


class _SenderLock:
    """An advisory lock on a file beside a SQLite database, which that database's relays take
    to send, whichever process they are in. One open file each: two relays of one process
    exclude each other too, and the lock may be let go on another thread than took it."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a+b")  # noqa: SIM115 - held for the relay's life

    def acquire(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)


def _sender_lock(url: str) -> _SenderLock | None:
    """None where relays need none: a database in memory, which one process alone can see, or
    a system without advisory locks (a message may then go twice, which inboxes make harmless)."""
    path = make_url(url).database
    if not path or path == ":memory:" or fcntl is None:
        return None
    return _SenderLock(f"{path}.outbox-lock")


class BackgroundRelay:
    """An outbox relay on its own thread and event loop, woken after each commit.

    Workers use it so that publishing a handler's outgoing messages never delays the
    handler's reply nor the next task. `make_relay` runs on the relay's own loop, so the
    relay gets a database pool of its own (async pools belong to one loop).
    """

    def __init__(self, make_relay: Callable[[], OutboxRelay]) -> None:
        self._make_relay = make_relay
        self._loop: asyncio.AbstractEventLoop | None = None
        self._relay: OutboxRelay | None = None
        self._started = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name="outbox-relay", daemon=True).start()
        self._started.wait(timeout=10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._relay = self._make_relay()
        self._loop = loop
        self._started.set()
        loop.run_until_complete(self._relay.run())

    def kick(self) -> None:
        if self._loop is not None and self._relay is not None:
            self._loop.call_soon_threadsafe(self._relay.kick)
