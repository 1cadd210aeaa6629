"""Redis crashes and restarts while readers are buying: every order ends paid or released, no copy
is lost or sold twice, and no message is lost (the outboxes catch up once the broker is back).

The broker is a redis-server of the test's own (append-only file, as deployed), killed with
SIGKILL in the middle of the buying and started again on the same port.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections import Counter
from collections.abc import Callable

import pytest
from conftest import RedisServer, WholeShop, isbn13, report
from waiting import eventually

pytestmark = pytest.mark.integration

COPIES = 8
READERS = 16
REDIS_DOWN_SECONDS = 2.0
STAGGER_SECONDS = 0.5
CRASH_AT_SECONDS = 2.5
CLOSED = {"paid", "cancelled", "expired", "rejected"}


async def test_redis_restarted_while_readers_buy_loses_and_doubles_nothing(
    whole_shop: WholeShop,
    own_redis: RedisServer,
    run_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    shop = whole_shop
    run_worker("catalogue", shop.worker_env(), ready_timeout=90)
    run_worker("checkout", shop.worker_env(), ready_timeout=90)
    isbn = isbn13(301)
    await shop.add_book(isbn, stock=COPIES)
    rng = random.Random(301)
    buys: Counter[int] = Counter()
    on_stripe: Counter[str] = Counter()

    timeline: list[tuple[float, float, int]] = []
    begun = time.monotonic()

    async def reader(number: int) -> None:
        await asyncio.sleep(number * STAGGER_SECONDS)
        started = time.monotonic() - begun
        bought = await shop.buy(isbn)
        timeline.append(
            (round(started, 1), round(time.monotonic() - begun - started, 1), bought.status_code)
        )
        buys[bought.status_code] += 1
        assert bought.status_code in (303, 409, 503), (bought.status_code, bought.text[:300])
        if bought.status_code != 303:
            return
        action = "pay" if rng.random() < 0.7 else "cancel"
        answer = await shop.on_stripe_page(bought.headers["location"], action)
        on_stripe[f"{action}: {answer.status_code}"] += 1

    async def broker_crash() -> float:
        await asyncio.sleep(CRASH_AT_SECONDS)
        started = time.monotonic()
        await asyncio.to_thread(own_redis.restart, down_for=REDIS_DOWN_SECONDS)
        return time.monotonic() - started

    *_, outage = await asyncio.gather(*(reader(n) for n in range(READERS)), broker_crash())

    last_seen: dict[str, object] = {}

    async def settled() -> bool:
        orders = await shop.orders()
        on_hand, reserved = await shop.catalogue.counters(isbn)
        book = await shop.checkout_book(isbn)
        statuses = await shop.catalogue.reservations()
        last_seen.update(
            orders=Counter(order.status for order in orders),
            unpublished=await shop.unpublished(),
            counters=(on_hand, reserved),
            checkout_available=book.available if book else None,
            paid_not_committed=[
                statuses.get(o.reservation_id)
                for o in orders
                if o.status == "paid"
                if statuses.get(o.reservation_id) != "committed"
            ],
        )
        return (
            all(order.status in CLOSED for order in orders)
            and last_seen["unpublished"] == (0, 0)
            and reserved == 0
            and not last_seen["paid_not_committed"]
            and book is not None
            and book.available == on_hand
        )

    settling_from = time.monotonic()
    try:
        await eventually(settled, timeout=90, what="the shop settling")
    except AssertionError as error:
        raise AssertionError(f"{error}: {last_seen}; buys {sorted(timeline)}") from None
    settle_seconds = time.monotonic() - settling_from

    orders = await shop.orders()
    statuses = await shop.catalogue.reservations()
    paid = [order for order in orders if order.status == "paid"]
    on_hand, reserved = await shop.catalogue.counters(isbn)
    sold = await shop.catalogue.ledger(isbn, "sold")
    # No copy lost or sold twice; nothing held for an order that is closed.
    assert on_hand + len(sold) == COPIES and len(paid) == len(sold) <= COPIES
    assert reserved == await shop.catalogue.held_copies(isbn) == 0
    # Each paid order sold exactly once, under its own reservation.
    assert Counter(entry.reference for entry in sold) == Counter(
        f"order {order.reference}" for order in paid
    )
    for order in orders:
        if order.status != "paid":
            assert statuses.get(order.reservation_id) in (None, "released", "expired")
    # Every 303 was either paid or cancelled on Stripe's page, and came out that way.
    assert len(paid) == sum(n for k, n in on_stripe.items() if k.startswith("pay"))
    assert own_redis.restarts == 1 and buys[303] > 0
    report(
        "Redis restarted while readers buy",
        readers=READERS,
        copies=COPIES,
        redis_down_for=f"{outage:.1f} s (SIGKILL, restart on the same port)",
        buy_answers=dict(buys),
        buys_started_took_answered=sorted(timeline),
        on_stripe_page=dict(on_stripe),
        orders_by_status=dict(Counter(order.status for order in orders)),
        catalogue_after=f"on hand {on_hand}, reserved {reserved}, sold {len(sold)}",
        settled_in=f"{settle_seconds:.1f} s",
        checked="every order closed; on_hand + sold = copies; reserved = live holds = 0; one "
        "'sold' row per paid order; both outboxes published; checkout's copy of availability "
        "caught up",
    )
