"""Refunds made on Stripe's dashboard and by staff here, whichever checkout hears of first: the
order counts every penny Stripe gave back, once, as soon as it learns of any of it.

The stand-in sends no webhooks here: each test hands Stripe's events to checkout itself, as
late as it likes, the way a slow or retried delivery brings them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import BOOKS, Shop
from sqlalchemy import update

from services.checkout import refund_turns
from services.checkout.models import Order
from shared.auth.roles import Role
from shared.money import format_pence

pytestmark = pytest.mark.integration

ISBN = "9780745334530"
TITLE, PRICE = BOOKS[ISBN]
ON_THE_DASHBOARD = 1000


@pytest.fixture
def standin_overrides() -> dict[str, Any]:
    return {"webhook_urls": []}


async def events_of(shop: Shop, kind: str) -> list[dict[str, Any]]:
    """The stand-in's events of one type, oldest first, as Stripe would send them."""
    listed = await shop.stripe(f"/events?type={kind}&limit=100")
    return list(reversed(listed["data"]))


async def deliver_all(shop: Shop, kind: str) -> None:
    for event in await events_of(shop, kind):
        delivered = await shop.deliver(event)
        assert delivered.status_code == 200, delivered.text


async def paid_order(shop: Shop) -> Order:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE)
    bought = await shop.buy(ISBN, 2, email="reader@example.org")
    assert bought.status_code == 303, bought.text
    [order] = await shop.orders()
    await shop.pay(bought.headers["location"])
    await deliver_all(shop, "checkout.session.completed")
    return await shop.wait_for_status(order.id, "paid")


async def refund_on_the_dashboard(shop: Shop, order: Order, *, everything: bool = False) -> None:
    """Part of the payment (ON_THE_DASHBOARD), or all that is left, refunded on Stripe's
    dashboard: Stripe refunds it and sends charge.refunded."""
    amount = {} if everything else {"amount": ON_THE_DASHBOARD}
    await shop.standin(
        "POST",
        "/v1/refunds",
        data={"payment_intent": order.stripe_payment_intent or ""} | amount,
        headers={"Authorization": "Bearer sk_test_x"},
    )


async def refund_notice(shop: Shop) -> str:
    [notice] = [m for m in await shop.mailbox.wait_for(2) if "Refund" in m["Subject"]]
    return " ".join(notice.get_content().split())


@pytest.mark.parametrize("dashboard_event", ["before the staff refund", "after it"])
async def test_a_dashboard_refund_and_a_staff_refund_are_each_counted_once(
    shop: Shop, dashboard_event: str
) -> None:
    order = await paid_order(shop)
    await refund_on_the_dashboard(shop, order)
    if dashboard_event == "before the staff refund":
        await deliver_all(shop, "charge.refunded")
    rest = order.total_pence - ON_THE_DASHBOARD

    staff = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{order.reference}/refund",
        json={"amount_pence": rest, "reason": "customer changed their mind"},
        headers=shop.staff(),
    )

    # Stripe has given everything back, and says so in its answer to the staff refund.
    assert staff.status_code == 200, staff.text
    assert (staff.json()["status"], staff.json()["refunded_pence"]) == (
        "refunded",
        order.total_pence,
    )
    # Every charge.refunded, late, then each again, changes nothing more.
    await deliver_all(shop, "charge.refunded")
    await deliver_all(shop, "charge.refunded")
    after = await shop.order(order.id)
    assert (after.status, after.refunded_pence) == ("refunded", order.total_pence)
    refunded = [e["amount_pence"] for e in await shop.staged("checkout.order_refunded.v1")]
    if dashboard_event == "before the staff refund":
        assert refunded == [ON_THE_DASHBOARD, rest]
    else:
        assert refunded == [order.total_pence]
    total = format_pence(order.total_pence)
    assert (
        f"We have refunded {format_pence(rest)} of your order {order.reference}"
        f" (customer changed their mind). In all, {total} of {total} has been refunded."
    ) in await refund_notice(shop)


async def test_refunding_everything_refunds_what_stripe_has_left(
    shop: Shop, staff_session: Callable[..., Any]
) -> None:
    """The dashboard refund's webhook has not come: checkout thinks nothing was refunded."""
    order = await paid_order(shop)
    await refund_on_the_dashboard(shop, order)

    async with httpx.AsyncClient(base_url=shop.url, timeout=10) as clerk:
        await staff_session(clerk, Role.PHONE_ORDERS, username="pat")
        done = await clerk.post(
            f"/staff/orders/{order.reference}/refund",
            data={"what": "all", "reason": "customer cancelled"},
        )

    assert done.status_code == 303, done.text
    after = await shop.order(order.id)
    assert (after.status, after.refunded_pence) == ("refunded", order.total_pence)
    intent = await shop.stripe(f"/payment_intents/{order.stripe_payment_intent}")
    charge = await shop.stripe(f"/charges/{intent['latest_charge']}")
    assert charge["amount_refunded"] == order.total_pence
    rest = format_pence(order.total_pence - ON_THE_DASHBOARD)
    assert f"We have refunded {rest} of your order" in await refund_notice(shop)


async def test_staff_asking_for_more_than_stripe_has_left_are_told_what_is_left(
    shop: Shop,
) -> None:
    order = await paid_order(shop)
    await refund_on_the_dashboard(shop, order)

    refused = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{order.reference}/refund",
        json={"amount_pence": order.total_pence, "reason": "customer changed their mind"},
        headers=shop.staff(),
    )

    assert refused.status_code == 422, refused.text
    left = format_pence(order.total_pence - ON_THE_DASHBOARD)
    assert f"greater than unrefunded amount on charge ({left})" in refused.text
    after = await shop.order(order.id)
    assert (after.status, after.refunded_pence) == ("paid", 0)


async def test_a_dashboard_refund_of_a_dispatched_order_ends_it(shop: Shop) -> None:
    """The book came back after dispatch and the shop refunded it on Stripe's dashboard."""
    order = await paid_order(shop)
    dispatched = await shop.http.post(
        f"{shop.url}/api/checkout/orders/{order.reference}/fulfil",
        json={"how": "dispatched"},
        headers=shop.staff(),
    )
    assert dispatched.status_code == 200 and dispatched.json()["status"] == "fulfilled"
    await refund_on_the_dashboard(shop, order, everything=True)

    await deliver_all(shop, "charge.refunded")

    after = await shop.order(order.id)
    assert (after.status, after.refunded_pence) == ("refunded", order.total_pence)
    assert [e["amount_pence"] for e in await shop.staged("checkout.order_refunded.v1")] == [
        order.total_pence
    ]
    # Closed when it was dispatched, not again.
    assert len(await shop.staged("catalogue.close_sale.v1")) == 1


async def test_a_dashboard_refund_of_a_paid_order_before_dispatch_closes_its_sale(
    shop: Shop,
) -> None:
    """Nothing will be sent: the copies are no longer a customer's on the shelf."""
    order = await paid_order(shop)
    await refund_on_the_dashboard(shop, order, everything=True)

    await deliver_all(shop, "charge.refunded")

    assert (await shop.order(order.id)).status == "refunded"
    [closed] = await shop.staged("catalogue.close_sale.v1")
    assert closed["order_id"] == str(order.reservation_id)


async def test_a_refund_by_line_tells_its_copies_once_and_one_by_amount_none(shop: Shop) -> None:
    order = await paid_order(shop)

    for asked in (
        {"lines": [{"isbn": ISBN, "quantity": 1}], "reason": "damaged copy"},
        {"amount_pence": 100, "reason": "late"},
    ):
        made = await shop.http.post(
            f"{shop.url}/api/checkout/orders/{order.reference}/refund",
            json=asked,
            headers=shop.staff(),
        )
        assert made.status_code == 200, made.text
    # Stripe's charge.refunded for each, late, tells nothing more.
    await deliver_all(shop, "charge.refunded")

    told = [
        (e["amount_pence"], e["copies"]) for e in await shop.staged("checkout.order_refunded.v1")
    ]
    assert told == [(PRICE, [{"isbn13": ISBN, "quantity": 1}]), (100, [])]


async def test_two_clerks_refunding_the_same_copy_at_once_pay_it_back_once(shop: Shop) -> None:
    order = await paid_order(shop)
    # Stripe takes its time over each refund, as it does: long enough for both clerks'
    # requests to be under way together.
    await shop.standin(
        "POST",
        "/_standin/faults",
        json={"path": "/v1/refunds", "kind": "hang", "method": "POST", "count": 2, "seconds": 0.5},
    )

    answers = await asyncio.gather(
        *(
            shop.http.post(
                f"{shop.url}/api/checkout/orders/{order.reference}/refund",
                json={"lines": [{"isbn": ISBN, "quantity": copies}], "reason": "damaged"},
                headers=shop.staff(),
            )
            for copies in (1, 2)
        )
    )

    # Whichever came second was asked of what the first left: not enough copies.
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    [told] = await shop.staged("checkout.order_refunded.v1")
    [copies] = told["copies"]
    # every book refunded before any was sent takes the postage back with it
    assert told["amount_pence"] == (PRICE if copies["quantity"] == 1 else order.total_pence)
    [refunded] = [o for o in await shop.orders() if o.id == order.id]
    assert refunded.refunded_pence == told["amount_pence"]


async def started_refund(shop: Shop, order: Order, *, ago: timedelta) -> None:
    """A refund of `order` that began `ago` and has not finished: a clerk's still waiting
    on Stripe, or one whose process died."""
    async with shop.db.writing() as session:
        await session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(refund_started_at=datetime.now(UTC) - ago)
        )


async def refund_one_copy(shop: Shop, order: Order) -> httpx.Response:
    return await shop.http.post(
        f"{shop.url}/api/checkout/orders/{order.reference}/refund",
        json={"lines": [{"isbn": ISBN, "quantity": 1}], "reason": "damaged"},
        headers=shop.staff(),
    )


async def test_a_refund_waits_for_one_still_being_made_and_then_says_so(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = await paid_order(shop)
    monkeypatch.setattr(refund_turns, "WAIT_SECONDS", 0.5)
    await started_refund(shop, order, ago=timedelta(seconds=5))

    refused = await refund_one_copy(shop, order)

    assert refused.status_code == 409
    assert "Another refund of order" in refused.json()["detail"]
    assert await shop.staged("checkout.order_refunded.v1") == []


async def test_a_refund_left_unfinished_by_a_dead_process_holds_its_order_only_so_long(
    shop: Shop,
) -> None:
    order = await paid_order(shop)
    await started_refund(shop, order, ago=refund_turns.LEASE + timedelta(seconds=1))

    made = await refund_one_copy(shop, order)

    assert made.status_code == 200, made.text
    [refunded] = [o for o in await shop.orders() if o.id == order.id]
    assert refunded.refunded_pence == PRICE
    assert refunded.refund_started_at is None


async def test_a_refund_stripe_refused_lets_the_next_one_go_ahead(shop: Shop) -> None:
    order = await paid_order(shop)
    await shop.standin(
        "POST", "/_standin/faults", json={"path": "/v1/refunds", "kind": "error", "method": "POST"}
    )

    failed = await refund_one_copy(shop, order)
    made = await refund_one_copy(shop, order)

    assert failed.status_code >= 500 and made.status_code == 200, (failed.text, made.text)
    [refunded] = [o for o in await shop.orders() if o.id == order.id]
    assert refunded.refunded_pence == PRICE
