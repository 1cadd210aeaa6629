"""Faults and bad input: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import timedelta
from typing import Any

import pytest
from conftest import BOOKS, Shop
from sqlalchemy import func, select, update

from services.checkout.models import Order, StripeEvent, outbox
from services.checkout.payments import SessionLine, SessionRequest, StripeGateway
from shared.messaging.message import utcnow

pytestmark = pytest.mark.integration

ISBN = "9780745334530"
TITLE, PRICE = BOOKS[ISBN]
COMMIT = "catalogue.commit_reservation.v1"
RELEASE = "catalogue.release_reservation.v1"


async def awaiting(
    shop: Shop, *, stock: int = 5, email: str = "reader@example.org", **extra: str
) -> Order:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=stock)
    response = await shop.buy(ISBN, 1, email=email, **extra)
    assert response.status_code == 303, response.text
    return [o for o in await shop.orders() if o.status == "awaiting_payment"][-1]


async def completed_event(shop: Shop, order: Order) -> dict[str, Any]:
    events = (await shop.stripe("/events?type=checkout.session.completed"))["data"]
    [event] = [e for e in events if e["data"]["object"]["id"] == order.stripe_session_id]
    return event


async def stripe_events_count(shop: Shop) -> int:
    async with shop.db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(StripeEvent)) or 0)


async def test_the_same_webhook_twice_and_expired_after_completed_change_nothing(
    shop: Shop,
) -> None:
    order = await awaiting(shop)
    await shop.pay(order.stripe_session_url or "")
    await shop.wait_for_status(order.id, "paid")
    event = await completed_event(shop, order)

    # Stripe sends the same event again (its retries, or "Resend" on the dashboard)...
    await shop.standin("POST", f"/_standin/events/{event['id']}/redeliver")
    again = await shop.deliver(event)
    assert again.status_code == 200 and again.json() == {"received": "duplicate"}
    # ...and an expired event for the same session turns up late, out of order.
    expired = copy.deepcopy(event)
    expired["id"] = "evt_out_of_order_expired"
    expired["type"] = "checkout.session.expired"
    expired["data"]["object"].update(status="expired", payment_status="unpaid")
    late = await shop.deliver(expired)
    assert late.status_code == 200 and late.json() == {"received": "nothing to close"}

    deadline = time.monotonic() + 3
    while (
        len((await shop.standin("GET", f"/_standin/deliveries?event_id={event['id']}")).json()) < 2
    ):
        assert time.monotonic() < deadline
    paid = await shop.order(order.id)
    assert paid.status == "paid"
    assert [c.status for c in paid.history].count("paid") == 1
    assert len(await shop.staged(COMMIT)) == 1
    assert await shop.staged(RELEASE) == []
    assert len(await shop.staged("checkout.order_paid.v1")) == 1
    assert len(await shop.mailbox.wait_for(1)) == 1
    await asyncio.sleep(0.3)
    assert len(shop.mailbox.messages) == 1


@pytest.mark.parametrize(
    "signature",
    [None, "", "t=1,v1=00", "wrong-secret"],
    ids=["missing", "empty", "garbage", "wrong-secret"],
)
async def test_a_bad_or_missing_signature_is_400_and_changes_nothing(
    shop: Shop, signature: str | None
) -> None:
    order = await awaiting(shop)
    forged = {
        "id": "evt_forged",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": order.stripe_session_id,
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
                "payment_intent": "pi_forged",
                "metadata": {"order_id": str(order.id)},
            }
        },
    }
    if signature == "wrong-secret":
        response = await shop.deliver(forged, secret="whsec_not_ours")
    else:
        response = await shop.http.post(
            f"{shop.url}/checkout/stripe/webhook",
            json=forged,
            headers={} if signature is None else {"Stripe-Signature": signature},
        )
    assert response.status_code == 400
    assert (await shop.order(order.id)).status == "awaiting_payment"
    assert await shop.staged(COMMIT) == []
    assert await stripe_events_count(shop) == 0


class TestCatalogueDown:
    @pytest.fixture
    def use_real_catalogue_requests(self) -> bool:
        # No catalogue worker runs: the reserve goes out through Redis and nobody answers.
        return True

    async def test_buy_answers_503_quickly_and_leaves_nothing_held(self, shop: Shop) -> None:
        await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
        started = time.monotonic()
        response = await shop.buy(ISBN, 1)
        took = time.monotonic() - started
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert "try again" in response.text
        assert took < shop.settings.reply_timeout_seconds + 1.0
        [order] = await shop.orders()
        assert order.status == "cancelled"
        assert order.stripe_session_id is None and order.sessions_created == 0
        # The release leaves through the outbox, so a reserve that lands late is undone.
        [released] = await shop.staged(RELEASE)
        assert released["order_id"] == str(order.reservation_id)
        deadline = time.monotonic() + 5
        while True:
            async with shop.db.reading() as session:
                published = await session.scalar(
                    select(outbox.c.published_at).where(outbox.c.kind == RELEASE)
                )
            if published is not None:
                break
            assert time.monotonic() < deadline, "the release never left the outbox"
            await asyncio.sleep(0.05)


async def test_stripe_failing_on_create_releases_the_copies_and_says_try_again(
    shop: Shop,
) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    await shop.standin(
        "POST", "/_standin/faults", json={"path": "/v1/checkout/sessions", "kind": "error"}
    )
    response = await shop.buy(ISBN, 1)
    assert response.status_code == 503
    assert "nothing was charged" in response.text and "Buy again" in response.text
    [order] = await shop.orders()
    assert order.status == "cancelled"
    [released] = await shop.staged(RELEASE)
    assert released["order_id"] == str(order.id)
    # The reader presses Buy again: a new order, which goes through.
    retry = await shop.buy(ISBN, 1)
    assert retry.status_code == 303
    assert [o.status for o in await shop.orders()] == ["cancelled", "awaiting_payment"]


class TestStripeTimeout:
    @pytest.fixture
    def shop_overrides(self) -> dict[str, Any]:
        return {"stripe_timeout_seconds": 0.5}

    async def test_a_timeout_on_create_releases_the_copies(self, shop: Shop) -> None:
        await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
        await shop.standin(
            "POST",
            "/_standin/faults",
            json={"path": "/v1/checkout/sessions", "kind": "hang", "seconds": 1.5},
        )
        response = await shop.buy(ISBN, 1)
        assert response.status_code == 503
        [order] = await shop.orders()
        assert order.status == "cancelled"
        assert len(await shop.staged(RELEASE)) == 1

    async def test_retrying_with_the_same_key_makes_one_session(self, shop: Shop) -> None:
        """The SDK retries a timed-out create with the same idempotency key: Stripe answers
        the retry with the session the first request made, not a second one."""
        gateway = StripeGateway(
            shop.settings.model_copy(
                update={"stripe_timeout_seconds": 0.5, "stripe_max_network_retries": 2}
            )
        )
        request = SessionRequest(
            idempotency_key="order-00000000-0000-0000-0000-000000000001-session",
            lines=(SessionLine(name=TITLE, unit_amount_pence=PRICE, quantity=1),),
            expires_at=int((utcnow() + timedelta(minutes=31)).timestamp()),
            success_url=f"{shop.url}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{shop.url}/checkout/cancel",
            metadata={"order_id": "00000000-0000-0000-0000-000000000001"},
            client_reference_id="ACDEFGHJ",
        )
        await shop.standin(
            "POST",
            "/_standin/faults",
            json={"path": "/v1/checkout/sessions", "kind": "hang", "seconds": 0.8},
        )
        first = await gateway.create_session(request)
        again = await gateway.create_session(request)
        assert again.id == first.id
        assert first.url == f"{shop.standin_url}/pay/{first.id}"


async def test_a_late_payment_whose_copies_are_gone_is_refunded_and_the_reader_told(
    shop: Shop,
) -> None:
    order = await awaiting(shop, stock=1, article="stalinism-2024")
    # Time passes: the hold lapses (the catalogue lets the copy go, and it sells).
    async with shop.db.writing() as session:
        await session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(hold_until=utcnow() - timedelta(minutes=1))
        )
    shop.catalogue.stock[ISBN] = 0
    await shop.pay(order.stripe_session_url or "")

    refunded = await shop.wait_for_status(order.id, "refunded")
    assert [c.status for c in refunded.history][-3:] == ["expired", "needs_attention", "refunded"]
    assert refunded.refunded_pence == refunded.total_pence
    assert refunded.attention_reason and "late payment" in refunded.attention_reason
    # The money went back through Stripe.
    intent = await shop.stripe(f"/payment_intents/{refunded.stripe_payment_intent}")
    charge = await shop.stripe(f"/charges/{intent['latest_charge']}")
    assert charge["amount_refunded"] == refunded.total_pence and charge["refunded"] is True
    # A fresh hold was asked for (not the released one), and nothing is sold.
    assert len(shop.catalogue.requests) == 2
    assert shop.catalogue.requests[1].order_id != order.reservation_id
    assert await shop.staged(COMMIT) == []
    assert [r["order_id"] for r in await shop.staged(RELEASE)] == [str(order.reservation_id)]
    [email] = await shop.mailbox.wait_for(1)
    assert email["To"] == "reader@example.org"
    assert "refunded" in email["Subject"]
    assert "were sold" in email.get_content()
    # Stripe's charge.refunded event arrives too and changes nothing more.
    await shop.wait_for_delivery("charge.refunded")
    assert (await shop.order(order.id)).refunded_pence == refunded.total_pence
    [refund] = await shop.staged("checkout.order_refunded.v1")
    # It names its article though no OrderPaid went: a refund of nothing the article earned.
    assert refund["attribution"] == {"article_id": "stalinism-2024", "isbn13": ISBN}
    assert refund["amount_pence"] == refunded.total_pence


async def test_a_late_payment_holds_the_copies_again_when_they_are_still_there(
    shop: Shop,
) -> None:
    order = await awaiting(shop, stock=3)
    async with shop.db.writing() as session:
        await session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(hold_until=utcnow() - timedelta(minutes=1))
        )
    await shop.pay(order.stripe_session_url or "")
    paid = await shop.wait_for_status(order.id, "paid")
    assert [c.status for c in paid.history][-2:] == ["expired", "paid"]
    [_, again] = shop.catalogue.requests
    assert paid.reservation_id == again.order_id != order.reservation_id
    # The lapsed hold goes back; the new one is sold.
    assert [r["order_id"] for r in await shop.staged(RELEASE)] == [str(order.reservation_id)]
    assert [c["order_id"] for c in await shop.staged(COMMIT)] == [str(again.order_id)]
    await shop.mailbox.wait_for(1)


async def test_the_sweep_expires_lapsed_orders_and_their_stripe_sessions(shop: Shop) -> None:
    from services.checkout.wiring import build_checkout

    order = await awaiting(shop)
    async with shop.db.writing() as session:
        await session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(hold_until=utcnow() - timedelta(seconds=1))
        )
    checkout = build_checkout(shop.settings)
    try:
        assert await checkout.orders.expire_lapsed() == 1
        assert await checkout.orders.expire_lapsed() == 0
    finally:
        await checkout.close()
    assert (await shop.order(order.id)).status == "expired"
    session = await shop.stripe(f"/checkout/sessions/{order.stripe_session_id}")
    assert session["status"] == "expired"
    await shop.wait_for_delivery("checkout.session.expired")
    assert len(await shop.staged(RELEASE)) == 1
