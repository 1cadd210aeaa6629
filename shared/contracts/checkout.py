"""Events checkout publishes about orders."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

import msgspec

from shared.contracts.catalogue import StockLine
from shared.messaging.message import Event


class Attribution(msgspec.Struct, frozen=True, kw_only=True):
    """Which article (and which of its links) brought the reader to the book."""

    article_id: str
    isbn13: str | None = None


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    isbn13: str
    quantity: int
    unit_price_pence: int


class OrderPaid(Event, frozen=True, kw_only=True):
    task: ClassVar[str] = "checkout.order_paid.v1"
    subscribers: ClassVar[tuple[str, ...]] = ("recommendation",)
    order_id: UUID
    reference: str
    lines: tuple[OrderLine, ...]
    total_pence: int
    attribution: Attribution | None = None


class OrderRefunded(Event, frozen=True, kw_only=True):
    """Money went back: `amount_pence` is what checkout learnt was refunded since its last
    OrderRefunded for the order (one refund's, or more when a Stripe dashboard refund's news
    came with it), never the order's running total: the events add up to it.

    `attribution` is the order's, as on its OrderPaid, which may be delivered after this.

    `copies` are those the refund paid back, per ISBN, each refund's told once: none for a
    refund by amount or on Stripe's dashboard, nor in a message queued before they were told.
    When Stripe's news of the money came first, they come on their own (`amount_pence` 0).
    """

    task: ClassVar[str] = "checkout.order_refunded.v1"
    subscribers: ClassVar[tuple[str, ...]] = ("recommendation",)
    order_id: UUID
    reference: str
    amount_pence: int
    attribution: Attribution | None = None
    copies: tuple[StockLine, ...] = ()
