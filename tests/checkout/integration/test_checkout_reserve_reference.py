"""Every hold checkout asks the catalogue for names the order as staff know it (its reference),
so the catalogue's ledger lines can be matched to the orders pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import BOOKS, Shop
from sqlalchemy import update

from services.checkout.models import Order
from shared.messaging.message import utcnow

pytestmark = pytest.mark.integration

ISBN = "9780745334530"
TITLE, PRICE = BOOKS[ISBN]


async def awaiting(shop: Shop) -> Order:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=3)
    response = await shop.buy(ISBN, 1, email="reader@example.org")
    assert response.status_code == 303, response.text
    return [o for o in await shop.orders() if o.status == "awaiting_payment"][-1]


async def test_a_buy_asks_for_its_hold_under_the_orders_reference(shop: Shop) -> None:
    order = await awaiting(shop)

    [reserve] = shop.catalogue.requests
    assert reserve.order_id == order.reservation_id
    assert reserve.reference == order.reference


async def test_a_late_payments_new_hold_names_the_same_order(shop: Shop) -> None:
    order = await awaiting(shop)
    async with shop.db.writing() as session:
        await session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(hold_until=utcnow() - timedelta(minutes=1))
        )

    await shop.pay(order.stripe_session_url or "")
    await shop.wait_for_status(order.id, "paid")

    [first, again] = shop.catalogue.requests
    assert again.order_id != first.order_id
    assert first.reference == again.reference == order.reference
    await shop.mailbox.wait_for(1)
