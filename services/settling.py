"""Before `bookshop up` says the shop is open: every service's worker answers, and every message
already written has been handled.

On a first start the catalogue's demo books reach checkout (which prices a Buy from its own
copy) and recommendation (which ranks them) as messages; a Buy pressed before checkout has
its copy was told "We do not sell a book with ISBN ...", and one pressed before the catalogue's
worker was up waited out the reply and was told to try again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError
from sqlalchemy import func, select

from services.shop import ServiceParts, load
from shared.db import Database
from shared.messaging.celery_app import make_celery

POLL_SECONDS = 1.0
CONTROL_REPLY_SECONDS = 1.0
# A count of messages changes every poll: say it this often, and a change of kind at once.
REPORT_EVERY_SECONDS = 3.0


@dataclass(frozen=True)
class Backlog:
    """What stands between the shop and being open."""

    not_answering: tuple[str, ...]
    messages: int

    @property
    def settled(self) -> bool:
        return not self.not_answering and self.messages == 0

    def describe(self) -> str:
        if self.not_answering:
            return f"waiting for the workers of {', '.join(self.not_answering)}"
        return f"passing on {self.messages} messages between the services"


class Settling:
    """Reads the backlog: workers by Celery's remote control, queues by the broker, outboxes
    by each service's own database (the composition root may know them all)."""

    def __init__(self, redis_url: str, services: Iterable[ServiceParts]) -> None:
        self._services = tuple(services)
        self._control: Celery = make_celery("embedded", redis_url)

    def backlog(self) -> Backlog:
        names = [parts.name for parts in self._services]
        answered = self._answering(names)
        not_answering = tuple(name for name in names if name not in answered)
        if not_answering:
            return Backlog(not_answering, 0)
        return Backlog((), self._queued(names) + self._in_hand(answered) + self._unpublished())

    def _answering(self, names: list[str]) -> dict[str, str]:
        """Service name to its worker's node name, for the workers that answer a ping."""
        replies = self._control.control.ping(timeout=CONTROL_REPLY_SECONDS, limit=len(names))
        nodes = {node for reply in replies for node in reply}
        return {name: node for name in names for node in nodes if node.startswith(f"{name}@")}

    def _queued(self, queues: list[str]) -> int:
        with self._control.connection_for_read() as connection:
            channel = connection.default_channel
            # Declared, not checked (passive): Redis keeps no empty list, which a passive
            # declare takes for a missing queue.
            return sum(channel.queue_declare(queue).message_count for queue in queues)

    def _in_hand(self, workers: dict[str, str]) -> int:
        """Tasks a worker is running or holds; a solo worker mid-task cannot answer, which
        counts as one in hand."""
        inspect = self._control.control.inspect(
            destination=list(workers.values()), timeout=CONTROL_REPLY_SECONDS, limit=len(workers)
        )
        active = inspect.active() or {}
        reserved = inspect.reserved() or {}
        return sum(
            len(active[node]) + len(reserved.get(node, [])) if node in active else 1
            for node in workers.values()
        )

    def _unpublished(self) -> int:
        async def count_all() -> int:
            return sum([await _unpublished(parts) for parts in self._services])

        return asyncio.run(count_all())

    def close(self) -> None:
        self._control.close()


async def _unpublished(parts: ServiceParts) -> int:
    """Messages in the service's outbox that no relay has sent yet."""
    outbox = load(parts.outbox)
    db = Database(parts.load_settings().resolved_database_url())
    try:
        async with db.reading() as session:
            query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            return int((await session.execute(query)).scalar_one())
    finally:
        await db.dispose()


def wait_until_settled(
    settling: Settling,
    *,
    timeout: float,
    report: Callable[[str], None],
    stop: threading.Event | None = None,
) -> bool:
    """True once the backlog reads empty twice in a row (a message between a relay's send and a
    worker's taking it may be counted nowhere for a moment); False after `timeout` seconds.
    `report` hears each new kind of backlog at once, and a shrinking count now and then;
    `stop`, once set, ends the wait (False)."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout
    said, said_at = Backlog((), 0), 0.0
    said_broker = ""
    empty_before = False
    while time.monotonic() < deadline and not stop.is_set():
        try:
            backlog = settling.backlog()
        except (OperationalError, RedisError, OSError) as error:
            # Also what a stop meets while it shuts the embedded broker down: say nothing then.
            if not stop.is_set() and said_broker != (said_broker := str(error)):
                report(f"waiting for the broker: {error}")
            empty_before = False
            stop.wait(POLL_SECONDS)
            continue
        if backlog.settled:
            if empty_before:
                return True
            empty_before = True
        else:
            empty_before = False
            new_kind = (backlog.not_answering, bool(backlog.messages)) != (
                said.not_answering,
                bool(said.messages),
            )
            moved = backlog.messages != said.messages
            if new_kind or (moved and time.monotonic() - said_at >= REPORT_EVERY_SECONDS):
                report(backlog.describe())
                said, said_at = backlog, time.monotonic()
        stop.wait(POLL_SECONDS)
    return False
