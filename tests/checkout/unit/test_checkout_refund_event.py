"""OrderRefunded's copies: a refund's are told even when Stripe's news of its money came first
and left no money to tell."""

from __future__ import annotations

from typing import cast
from uuid import uuid4

from services.checkout.models import Order, Refund, RefundLine
from services.checkout.orders import order_refunded_event
from shared.contracts import OrderRefunded, StockLine
from shared.messaging.message import Message
from shared.messaging.unit_of_work import UnitOfWork

ISBN = "9780745334530"


class Outbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def publish(self, *messages: Message) -> None:
        self.messages.extend(messages)


def refunded_order(refunded_pence: int) -> Order:
    return Order(id=uuid4(), reference="K7QF3MXA", refunded_pence=refunded_pence, lines=[])


async def test_copies_are_told_on_their_own_when_the_money_was_told_already() -> None:
    outbox, order = Outbox(), refunded_order(1299)
    refund = Refund(amount_pence=1299, lines=[RefundLine(isbn13=ISBN, quantity=1)])

    await order_refunded_event(cast(UnitOfWork, outbox), order, before=1299, refund=refund)

    [told] = outbox.messages
    assert isinstance(told, OrderRefunded)
    assert (told.amount_pence, told.copies) == (0, (StockLine(ISBN, 1),))


async def test_nothing_is_told_without_money_or_copies() -> None:
    outbox = Outbox()
    refund = Refund(amount_pence=1299, lines=[])

    await order_refunded_event(
        cast(UnitOfWork, outbox), refunded_order(1299), before=1299, refund=refund
    )
    await order_refunded_event(cast(UnitOfWork, outbox), refunded_order(1299), before=1299)

    assert outbox.messages == []
