"""The Stripe stand-in failing or slow when checkout opens a session, and Stripe's webhooks
replayed in the worst order and shuffled with duplicates: the shop ends as one ordered delivery
leaves it.

Every event first goes to a gate that swallows it (the stand-in believes it delivered); then
each is redelivered through the stand-in (/_standin/events/{id}/redeliver): once, newest first
(every event before the ones it follows), then again shuffled, one to three times each, all at
once. After each replay the orders, the catalogue and the messages are the same.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from conftest import WholeShop, isbn13, report
from sqlalchemy import func, select
from waiting import eventually

from services.checkout import models as co

pytestmark = pytest.mark.integration

ISBN = isbn13(401)
STRIPE_KEY = {"Authorization": "Bearer sk_test_fault_suite"}
# What each reader does on Stripe's page, and the order's end state after one ordered delivery.
JOURNEYS: dict[str, tuple[list[str], str]] = {
    "card": (["pay"], "paid"),
    "card 2": (["pay"], "paid"),
    "card 3": (["pay"], "paid"),
    "transfer arrives": (["bank_transfer", "transfer_arrived"], "paid"),
    "transfer arrives 2": (["bank_transfer", "transfer_arrived"], "paid"),
    "transfer fails": (["bank_transfer", "transfer_failed"], "cancelled"),
    "session expires": (["expire"], "expired"),
    "paid, then refunded on the dashboard": (["pay", "refund"], "refunded"),
}


async def test_stripe_failing_then_webhooks_replayed_out_of_order_and_duplicated(
    whole_shop: WholeShop, run_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    shop = whole_shop
    run_worker("catalogue", shop.worker_env(), ready_timeout=90)
    run_worker("checkout", shop.worker_env(), ready_timeout=90)
    await shop.add_book(ISBN, stock=20)

    # Stripe failing, then slow past checkout's timeout: a clear 503, nothing left held.
    stripe_faults = {"error": {"count": 1}, "hang": {"count": 1, "seconds": 3.0}}
    fault_answers = {}
    for kind, extra in stripe_faults.items():
        await shop.standin(
            "POST",
            "/_standin/faults",
            json={"path": "/v1/checkout/sessions", "kind": kind, "method": "POST", **extra},
        )
        started = time.monotonic()
        answer = await shop.buy(ISBN)
        took = time.monotonic() - started
        assert answer.status_code == 503 and answer.headers["retry-after"], answer.text[:300]
        assert "nothing was charged" in answer.text and took < 6, took
        fault_answers[kind] = f"503 in {took:.1f} s"
    assert [o.status for o in await shop.orders()] == ["cancelled", "cancelled"]

    # The readers, with every webhook swallowed by the gate.
    shop.gate.forwarding = False
    references: dict[str, str] = {}
    for name, (steps, _) in JOURNEYS.items():
        bought = await shop.buy(ISBN)
        assert bought.status_code == 303, bought.text[:300]
        payment_url = bought.headers["location"]
        session_id = payment_url.rstrip("/").rsplit("/", 1)[1]
        for step in steps:
            await do(shop, step, payment_url, session_id)
        references[name] = (await shop.orders())[-1].reference
    events = await standin_events(shop)

    async def swallowed() -> bool:
        return len(shop.gate.swallowed) == len(events)

    await eventually(swallowed, what="every first delivery swallowed")
    assert {o.status for o in await shop.orders()} == {"cancelled", "awaiting_payment"}

    # Replay 1: every event once, newest first; replay 2: shuffled, duplicated, all at once.
    shop.gate.forwarding = True
    rng = random.Random(401)
    newest_first = [event["id"] for event in events]
    shuffled = [event_id for event_id in newest_first for _ in range(rng.randint(1, 3))]
    rng.shuffle(shuffled)
    snapshots = []
    for replay, ids, at_once in (
        ("newest first", newest_first, False),
        ("shuffled", shuffled, True),
    ):
        await redeliver(shop, ids, at_once=at_once)
        await settle(shop)
        snapshots.append(await snapshot(shop))
        by_reference = {o.reference: o for o in await shop.orders()}
        for name, (_, expected) in JOURNEYS.items():
            order = by_reference[references[name]]
            assert order.status == expected, (replay, name, order.status, order.history)
    assert snapshots[0] == snapshots[1]

    state = snapshots[1]
    paid = [name for name, (_, status) in JOURNEYS.items() if status in ("paid", "refunded")]
    assert state["messages"]["catalogue.commit_reservation.v1"] == len(paid)
    assert state["messages"]["checkout.order_paid.v1"] == len(paid)
    assert state["messages"]["checkout.order_refunded.v1"] == 1
    # A confirmation for each order paid, and one to say the failed transfer cancelled its order.
    failed = [name for name, (steps, _) in JOURNEYS.items() if "transfer_failed" in steps]
    assert state["emails"] == len(paid) + len(failed)
    assert state["stripe_events"] == len(events)
    on_hand, reserved = state["catalogue"]
    assert (on_hand, reserved) == (20 - len(paid), 0)
    deliveries = await shop.standin("GET", "/_standin/deliveries")
    report(
        "Stripe failing and webhooks replayed",
        stripe_faults_at_session_create=fault_answers,
        journeys=len(JOURNEYS),
        events=Counter(event["type"] for event in events),
        deliveries_replayed=f"{len(newest_first)} newest first, then {len(shuffled)} shuffled "
        f"with duplicates, at once",
        deliveries_in_all=len(deliveries),
        webhook_answers=Counter(attempt["status"] for d in deliveries for attempt in d["attempts"]),
        webhook_errors=Counter(
            (attempt["error"] or "")[:60]
            for d in deliveries
            for attempt in d["attempts"]
            if attempt["error"]
        ),
        orders=Counter(state["orders"].values()),
        catalogue_after=f"on hand {on_hand}, reserved {reserved}",
        checked="each order's end state as one ordered delivery leaves it; orders, refunds, "
        "emails, messages and the catalogue identical after both replays; one commit and one "
        "order_paid per paid order",
    )


async def do(shop: WholeShop, step: str, payment_url: str, session_id: str) -> None:
    if step in ("pay", "bank_transfer"):
        answer = await shop.on_stripe_page(payment_url, step)
        assert answer.status_code == 303, answer.text[:300]
    elif step in ("transfer_arrived", "transfer_failed"):
        outcome = "succeeded" if step == "transfer_arrived" else "failed"
        await shop.standin(
            "POST", f"/_standin/sessions/{session_id}/settle", json={"outcome": outcome}
        )
    elif step == "expire":
        await shop.standin("POST", f"/_standin/sessions/{session_id}/expire_now")
    else:
        session = await shop.standin(
            "GET", f"/v1/checkout/sessions/{session_id}", headers=STRIPE_KEY
        )
        await shop.standin(
            "POST",
            "/v1/refunds",
            data={"payment_intent": session["payment_intent"]},
            headers=STRIPE_KEY,
        )


async def standin_events(shop: WholeShop) -> list[dict[str, Any]]:
    """Every event the stand-in made, newest first."""
    page = await shop.standin("GET", "/v1/events?limit=100", headers=STRIPE_KEY)
    assert not page["has_more"]
    return list(page["data"])


async def redeliver(shop: WholeShop, event_ids: list[str], *, at_once: bool) -> None:
    """Ask the stand-in to send each again; wait until every delivery got a 2xx."""
    before = len(await shop.standin("GET", "/_standin/deliveries"))
    if at_once:
        await asyncio.gather(
            *(shop.standin("POST", f"/_standin/events/{i}/redeliver") for i in event_ids)
        )
    else:
        for number, event_id in enumerate(event_ids, start=1):
            await shop.standin("POST", f"/_standin/events/{event_id}/redeliver")
            await all_delivered(shop, before + number)
    await all_delivered(shop, before + len(event_ids))


async def all_delivered(shop: WholeShop, count: int) -> None:
    async def done() -> bool:
        deliveries = await shop.standin("GET", "/_standin/deliveries")
        assert not any(d["outcome"] == "failed" for d in deliveries), deliveries
        return len(deliveries) == count and all(d["outcome"] == "delivered" for d in deliveries)

    await eventually(done, timeout=60, what="every webhook delivered")


async def settle(shop: WholeShop) -> None:
    """Until both outboxes are published and the catalogue holds nothing for a closed order."""

    async def settled() -> bool:
        if await shop.unpublished() != (0, 0):
            return False
        statuses = await shop.catalogue.reservations()
        return (
            all(
                statuses.get(order.reservation_id) in (None, "committed", "released", "expired")
                for order in await shop.orders()
            )
            and (await shop.catalogue.counters(ISBN))[1] == 0
        )

    await eventually(settled, timeout=60, what="the shop settling")


async def snapshot(shop: WholeShop) -> dict[str, Any]:
    async with shop.checkout_db.reading() as session:
        messages = Counter(
            kind
            for (kind,) in await session.execute(
                select(co.outbox.c.kind).where(co.outbox.c.kind != "catalogue.reserve_stock.v1")
            )
        )
        emails = await session.scalar(select(func.count()).select_from(co.Email))
        stripe_events = await session.scalar(select(func.count()).select_from(co.StripeEvent))
    return {
        "orders": {o.reference: o.status for o in await shop.orders()},
        "refunded": {o.reference: o.refunded_pence for o in await shop.orders()},
        "messages": messages,
        "emails": emails,
        "stripe_events": stripe_events,
        "catalogue": await shop.catalogue.counters(ISBN),
        "sold": len(await shop.catalogue.ledger(ISBN, "sold")),
        "reservations": Counter((await shop.catalogue.reservations()).values()),
    }
