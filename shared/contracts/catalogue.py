"""Messages the catalogue handles (stock commands) and publishes (book changes, sales confirmed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

import msgspec

from shared.messaging.message import Command, Event

Isbn13 = Annotated[str, msgspec.Meta(pattern=r"^97[89]\d{10}$")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=1000)]
# The catalogue keeps it in a String(20) column (checkout's are 8 characters).
OrderReference = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


class StockLine(msgspec.Struct, frozen=True):
    isbn13: Isbn13
    quantity: Quantity


class ShortLine(msgspec.Struct, frozen=True):
    """A line the catalogue could not hold: how many were asked for and how many are left."""

    isbn13: str
    requested: int
    available: int


class LinePrice(msgspec.Struct, frozen=True):
    """A held book's price in the catalogue as it held the copies."""

    isbn13: str
    price_pence: int


class ReserveStock(Command, frozen=True, kw_only=True):
    """Hold copies for an order until `expires_at`; replies with a ReservationReply.

    `reference` is the order's as staff and customers know it (checkout's Order.reference), for
    the ledger: `order_id` is the reservation's key, which no orders page shows. Optional, so a
    message queued before it was added still decodes; the ledger then names the order_id.
    """

    task: ClassVar[str] = "catalogue.reserve_stock.v1"
    replies: ClassVar[bool] = True
    order_id: UUID
    lines: tuple[StockLine, ...]
    expires_at: datetime
    reference: OrderReference | None = None


class ReservationReply(msgspec.Struct, frozen=True, kw_only=True):
    """`prices`, with a hold: the books' prices as the catalogue held them, which the order
    charges. Checkout's own copy of prices follows BookChanged events, which can be minutes
    behind after an import of thousands of books."""

    order_id: UUID
    ok: bool
    short: tuple[ShortLine, ...] = ()
    expires_at: datetime | None = None
    prices: tuple[LinePrice, ...] = ()


class CommitReservation(Command, frozen=True, kw_only=True):
    """Payment done: the held copies are sold (a ledger entry each)."""

    task: ClassVar[str] = "catalogue.commit_reservation.v1"
    order_id: UUID


class ReservationCommitted(Event, frozen=True, kw_only=True):
    """The copies held for `order_id` (the reservation's key) are sold.

    Published for every CommitReservation that finds the reservation committed, a repeat too:
    checkout sends the commit again until it hears this, since a broker may lose either message.
    """

    task: ClassVar[str] = "catalogue.reservation_committed.v1"
    subscribers: ClassVar[tuple[str, ...]] = ("checkout",)
    order_id: UUID


class ReleaseReservation(Command, frozen=True, kw_only=True):
    """Cancelled, expired or failed: the held copies go back on the shelf.

    Also sent when a reserve's reply never came: a release that arrives before its reserve
    closes the order in the catalogue, so the late reserve holds nothing.
    """

    task: ClassVar[str] = "catalogue.release_reservation.v1"
    order_id: UUID
    reason: str


class ReturnToStock(Command, frozen=True, kw_only=True):
    """Sold copies of an order are back on the shelf: refunded before they left the shop, or
    sent back by the customer. A 'returned' entry each; never more copies of a book than the
    order bought, less those returned before. `refund_id` names the refund in checkout, for
    the ledger."""

    task: ClassVar[str] = "catalogue.return_to_stock.v1"
    order_id: UUID
    refund_id: int
    lines: tuple[StockLine, ...]
    reason: str


class CloseSale(Command, frozen=True, kw_only=True):
    """A paid order no longer waits on the shop's shelves: its copies were posted or collected,
    or it was refunded in full. Until then its sold copies are still on the shelf, and a stock
    take must not count them as the shop's to sell."""

    task: ClassVar[str] = "catalogue.close_sale.v1"
    order_id: UUID


class BookChanged(Event, frozen=True, kw_only=True):
    """A book was added or changed: the facts other services index, never the catalogue's rows.

    `version` rises with every change of the book, so a subscriber can ignore a stale
    event that arrives after a newer one.
    """

    task: ClassVar[str] = "catalogue.book_changed.v1"
    subscribers: ClassVar[tuple[str, ...]] = ("recommendation", "checkout")
    isbn13: Isbn13
    version: int
    title: str
    subtitle: str | None = None
    authors: tuple[str, ...] = ()
    publisher: str | None = None
    year: int | None = None
    format: str | None = None
    price_pence: int
    subjects: tuple[str, ...] = ()
    description: str = ""
    cover_url: str | None = None
    available: int = 0
    withdrawn: bool = False
