"""A paid order's CommitReservation lost by the broker (taken off the catalogue's queue before any
worker had it, as kombu's Redis transport can lose one when a worker dies between taking and
recording it): checkout's re-send, run as beat runs it, still sells the copies, once; and a
re-send to a reservation already sold (its confirmation lost) changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from uuid import uuid4

import pytest
import redis
from conftest import RedisServer, WholeShop, isbn13, report
from sqlalchemy import func, select, update
from waiting import eventually

from services.catalogue import models as cat
from services.checkout import models as co
from services.checkout.tasks import RESEND_UNCONFIRMED_COMMITS
from shared.contracts import CommitReservation, ReservationCommitted
from shared.messaging.celery_app import make_celery

pytestmark = pytest.mark.integration

COPIES = 3
# How long after payment an unconfirmed commit is sent again (30 s in the shop).
RESEND_AFTER_SECONDS = 1


def queued_tasks(client: redis.Redis, queue: str) -> list[tuple[str, bytes]]:
    """(task name, raw message) of each message waiting on a queue, as kombu keeps them."""
    return [(json.loads(raw)["headers"]["task"], raw) for raw in client.lrange(queue, 0, -1)]


async def committed_at(shop: WholeShop, order_id: object) -> object:
    async with shop.checkout_db.reading() as session:
        return await session.scalar(
            select(co.Order.stock_committed_at).where(co.Order.id == order_id)
        )


async def commits_handled(shop: WholeShop) -> int:
    async with shop.catalogue_db.reading() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(cat.inbox)
                .where(cat.inbox.c.handler == CommitReservation.task)
            )
            or 0
        )


async def test_a_lost_commit_is_sent_again_and_sells_the_copies_once(
    whole_shop: WholeShop,
    own_redis: RedisServer,
    run_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    shop = whole_shop
    env = shop.worker_env() | {"CHECKOUT_COMMIT_RESEND_AFTER_SECONDS": str(RESEND_AFTER_SECONDS)}
    catalogue_worker = run_worker("catalogue", env, ready_timeout=90)
    run_worker("checkout", env, ready_timeout=90)
    isbn = isbn13(501)
    await shop.add_book(isbn, stock=COPIES)
    bought = await shop.buy(isbn, quantity=2)
    assert bought.status_code == 303, bought.text[:300]
    [order] = await shop.orders()

    # No catalogue worker while the payment's commit waits on the queue: it is taken off there,
    # as the broker loses it.
    catalogue_worker.terminate()
    catalogue_worker.wait(timeout=30)
    await shop.on_stripe_page(bought.headers["location"], "pay")
    broker = redis.Redis.from_url(own_redis.url)

    async def commit_queued() -> bool:
        return any(task == CommitReservation.task for task, _ in queued_tasks(broker, "catalogue"))

    await eventually(commit_queued, what="the paid order's commit on the catalogue's queue")
    [lost] = [
        raw for task, raw in queued_tasks(broker, "catalogue") if task == CommitReservation.task
    ]
    assert broker.lrem("catalogue", 1, lost) == 1
    paid = (await shop.orders())[0]
    assert paid.status == "paid" and paid.stock_committed_at is None
    run_worker("catalogue", env, ready_timeout=90)
    await asyncio.sleep(RESEND_AFTER_SECONDS)
    assert (await shop.catalogue.reservations())[order.reservation_id] == "held"
    assert await commits_handled(shop) == 0

    # Beat's run: checkout sends the commit again; the catalogue sells and confirms.
    beat = make_celery("beat", own_redis.url)
    started = time.monotonic()
    beat.send_task(RESEND_UNCONFIRMED_COMMITS, queue="checkout")

    async def confirmed() -> bool:
        return await committed_at(shop, order.id) is not None

    await eventually(confirmed, what="the catalogue confirming the re-sent commit")
    resent_in = time.monotonic() - started
    assert (await shop.catalogue.reservations())[order.reservation_id] == "committed"
    assert await shop.catalogue.counters(isbn) == (COPIES - 2, 0)
    [sold] = await shop.catalogue.ledger(isbn, "sold")
    assert (sold.on_hand_change, sold.reserved_change) == (-2, -2)
    assert sold.reference == f"order {order.reference}"

    # The confirmation lost this time: the next run sends the commit to a sold reservation.
    async with shop.checkout_db.writing() as session:
        await session.execute(
            update(co.Order).where(co.Order.id == order.id).values(stock_committed_at=None)
        )
    beat.send_task(RESEND_UNCONFIRMED_COMMITS, queue="checkout")
    await eventually(confirmed, what="the catalogue confirming the repeated commit")
    assert await commits_handled(shop) == 2
    assert await shop.catalogue.counters(isbn) == (COPIES - 2, 0)
    assert len(await shop.catalogue.ledger(isbn, "sold")) == 1
    assert (await shop.catalogue.reservations())[order.reservation_id] == "committed"

    # Confirmed: a later run sends nothing. The checkout worker takes its queue in order, so
    # once a message sent after the run is handled, the run is done.
    beat.send_task(RESEND_UNCONFIRMED_COMMITS, queue="checkout")
    marker = ReservationCommitted(order_id=uuid4())
    beat.send_task(marker.deliveries()[0], args=[marker.to_json_dict()], queue="checkout")

    async def marker_handled() -> bool:
        async with shop.checkout_db.reading() as session:
            return bool(
                await session.scalar(
                    select(func.count())
                    .select_from(co.inbox)
                    .where(co.inbox.c.message_id == marker.message_id)
                )
            )

    await eventually(marker_handled, what="checkout's worker through its queue")
    assert await commits_handled(shop) == 2
    async with shop.checkout_db.reading() as session:
        commits_sent = await session.scalar(
            select(func.count())
            .select_from(co.outbox)
            .where(co.outbox.c.kind == CommitReservation.task)
        )
    assert commits_sent == 3
    broker.close()
    report(
        "a paid order's commit lost on the broker",
        dropped="the one CommitReservation, off the catalogue's queue before any worker took it",
        held_after_the_loss="the reservation still held, no commit handled",
        re_sent_and_confirmed_in=f"{resent_in:.1f} s after beat's run was sent",
        commits_sent_in_all=f"{commits_sent} (the lost one, the re-send, one after a lost "
        "confirmation)",
        checked="reservation committed; counters (1, 0); one 'sold' ledger row of -2/-2; the "
        "repeat handled and changing nothing; no re-send once confirmed",
    )
