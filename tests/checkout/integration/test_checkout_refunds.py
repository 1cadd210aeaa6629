"""Refunds made on Stripe's dashboard and by staff here, whichever checkout hears of first: the
order counts every penny Stripe gave back, once, as soon as it learns of any of it.

The stand-in sends no webhooks here: each test hands Stripe's events to checkout itself, as
late as it likes, the way a slow or retried delivery brings them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import BOOKS, Shop

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
