"""A paid order's commit is sent again until the catalogue confirms it, and only while its hold
runs (services/checkout/stock_commits.py), on SQLite and Postgres."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from conftest import BOOKS, Shop
from sqlalchemy import update

from services.checkout import handlers, stock_commits
from services.checkout.models import Order, outbox
from shared.contracts import ReservationCommitted
from shared.messaging.unit_of_work import UnitOfWorkFactory

pytestmark = pytest.mark.integration

ISBN = "9780745334530"
TITLE, PRICE = BOOKS[ISBN]
COMMIT = "catalogue.commit_reservation.v1"
AFTER = timedelta(seconds=30)


async def paid_order(shop: Shop) -> Order:
    response = await shop.buy(ISBN, 1)
    assert response.status_code == 303, response.text
    [order] = [o for o in await shop.orders() if o.status == "awaiting_payment"]
    await shop.pay(response.headers["location"])
    return await shop.wait_for_status(order.id, "paid")


async def test_an_unconfirmed_commit_is_sent_again_until_the_catalogue_confirms_it(
    shop: Shop,
) -> None:
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=5)
    uows = UnitOfWorkFactory(shop.db, outbox)
    first, second = await paid_order(shop), await paid_order(shop)
    assert first.paid_at is not None and second.paid_at is not None
    assert first.stock_committed_at is None
    later = second.paid_at + AFTER

    # Just paid: the first commit is still on its way.
    assert await stock_commits.resend_unconfirmed(uows, now=second.paid_at, after=AFTER) == 0
    # Unconfirmed after the wait: sent again, one batch at a time, the soonest hold end first.
    assert await stock_commits.resend_unconfirmed(uows, now=later, after=AFTER, batch=1) == 1
    assert await stock_commits.resend_unconfirmed(uows, now=later, after=AFTER) == 2
    commits = await shop.staged(COMMIT)
    assert [c["order_id"] for c in commits] == [
        str(first.reservation_id),
        str(second.reservation_id),
        str(first.reservation_id),
        str(first.reservation_id),
        str(second.reservation_id),
    ]
    # Each a new message, so the catalogue runs it and confirms again if it had already sold.
    assert len({c["message_id"] for c in commits}) == len(commits)

    # The catalogue confirms the first (twice: a re-send crossed the confirmation).
    for _ in range(2):
        async with uows() as uow:
            await handlers.on_reservation_committed(
                ReservationCommitted(order_id=first.reservation_id), uow=uow
            )
    confirmed = await shop.order(first.id)
    assert confirmed.stock_committed_at is not None
    async with uows() as uow:
        assert not await stock_commits.confirm(uow, reservation_id=uuid4(), now=later)
    assert await stock_commits.resend_unconfirmed(uows, now=later, after=AFTER) == 1
    assert (await shop.staged(COMMIT))[-1]["order_id"] == str(second.reservation_id)

    # Past the hold the catalogue has let the copies go: a commit would change nothing.
    assert second.hold_until is not None
    past_hold = second.hold_until + timedelta(seconds=1)
    assert await stock_commits.resend_unconfirmed(uows, now=past_hold, after=AFTER) == 0
    assert (await shop.order(first.id)).stock_committed_at == confirmed.stock_committed_at


async def test_a_commit_confirmed_for_a_replaced_hold_confirms_nothing(shop: Shop) -> None:
    """A late payment re-reserves under a new key: the old hold's confirmation is not the sale."""
    await shop.add_book(ISBN, title=TITLE, price_pence=PRICE, stock=5)
    order = await paid_order(shop)
    old_hold = order.reservation_id
    async with shop.db.writing() as session:
        await session.execute(
            update(Order).where(Order.id == order.id).values(reservation_id=uuid4())
        )
    async with UnitOfWorkFactory(shop.db, outbox)() as uow:
        await handlers.on_reservation_committed(ReservationCommitted(order_id=old_hold), uow=uow)
    assert (await shop.order(order.id)).stock_committed_at is None
