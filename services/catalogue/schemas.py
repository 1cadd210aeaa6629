"""What goes in and out of the catalogue's use cases and JSON API (msgspec: strict, so a price
of 12.5 or "12.99" is refused rather than guessed at)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from services.catalogue.domain import Movement

Pence = Annotated[int, msgspec.Meta(ge=0, le=100_000_000, description="whole pence (GBP)")]
RawIsbn = Annotated[
    str,
    msgspec.Meta(
        min_length=10,
        max_length=24,
        description="ISBN-13, ISBN-10 or EAN-13; hyphens and spaces allowed",
        examples=["9798463348616", "0-14-044913-9"],
    ),
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Format = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Year = Annotated[int, msgspec.Meta(ge=1450, le=2100)]
Description = Annotated[str, msgspec.Meta(max_length=20_000)]
CoverUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$", max_length=1000)]
Copies = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
PositiveCopies = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Change = Annotated[
    int, msgspec.Meta(ge=-1_000_000, le=1_000_000, description="copies added (+) or removed (-)")
]
Reason = Annotated[
    str, msgspec.Meta(min_length=3, max_length=500, description="why: required, for the ledger")
]
Authors = Annotated[list[Name], msgspec.Meta(max_length=50)]
Subjects = Annotated[list[Subject], msgspec.Meta(max_length=50)]


class BookCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A book as staff or an import give it. `stock` is the opening quantity on hand: it is
    received (a ledger entry) only when the book is new, and ignored for a book already held.
    `reorder_point` None keeps the held book's (1 for a new book)."""

    isbn13: RawIsbn
    title: Title
    price_pence: Pence
    subtitle: Title | None = None
    authors: Authors = msgspec.field(default_factory=list)
    publisher: Name | None = None
    year: Year | None = None
    format: Format | None = None
    subjects: Subjects = msgspec.field(default_factory=list)
    description: Description = ""
    cover_url: CoverUrl | None = None
    reorder_point: Copies | None = None
    stock: Copies = 0


class BookUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A partial change: only the fields given are changed (null clears an optional one)."""

    title: Title | msgspec.UnsetType = msgspec.UNSET
    subtitle: Title | msgspec.UnsetType | None = msgspec.UNSET
    authors: Authors | msgspec.UnsetType = msgspec.UNSET
    publisher: Name | msgspec.UnsetType | None = msgspec.UNSET
    year: Year | msgspec.UnsetType | None = msgspec.UNSET
    format: Format | msgspec.UnsetType | None = msgspec.UNSET
    price_pence: Pence | msgspec.UnsetType = msgspec.UNSET
    subjects: Subjects | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    cover_url: CoverUrl | msgspec.UnsetType | None = msgspec.UNSET
    reorder_point: Copies | msgspec.UnsetType = msgspec.UNSET


class BookRead(msgspec.Struct, kw_only=True):
    isbn13: str
    title: str
    subtitle: str | None
    authors: list[str]
    publisher: str | None
    year: int | None
    format: str | None
    price_pence: int
    subjects: list[str]
    description: str
    cover_url: str | None
    reorder_point: int
    on_hand: int
    reserved: int
    available: int
    version: int
    created_at: datetime
    updated_at: datetime


class UpsertSummary(msgspec.Struct, kw_only=True):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class DeliveryLine(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    isbn13: RawIsbn
    quantity: PositiveCopies


class Delivery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Copies in from a supplier (or, for a return, out to one): one ledger batch."""

    lines: Annotated[list[DeliveryLine], msgspec.Meta(min_length=1, max_length=1000)]
    reference: ShortText | None = None


class Adjustment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    isbn13: RawIsbn
    change: Change
    reason: Reason


ExpectedOnHand = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=1_000_000,
        description="the on-hand figure the preview showed for the book (a difference's "
        "on_hand; for a book that matched, its count less its awaiting_dispatch): if the "
        "figure has moved since (a sale, a delivery), the stock take is refused with 409 "
        "naming the books in changed_isbns, and nothing is written. Leave it out to apply the "
        "count to the figure as it is then.",
    ),
]
ExpectedAwaitingDispatch = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=1_000_000,
        description="the sold copies awaiting dispatch the preview showed for the book (its "
        "awaiting_dispatch, 0 if it had none): if some have been posted or collected since, "
        "the count included copies no longer there, so the stock take is refused as for "
        "expected_on_hand. Leave it out to count the copies awaiting dispatch then.",
    ),
]


class CountedLine(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    isbn13: RawIsbn
    counted: Copies
    expected_on_hand: ExpectedOnHand | None = None
    expected_awaiting_dispatch: ExpectedAwaitingDispatch | None = None


class StockTake(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Copies counted per book, sold copies awaiting dispatch included: they are on the shelf
    until posted or collected. Applied, each line's `expected_on_hand` and
    `expected_awaiting_dispatch` (when given) are checked in the transaction that writes the
    corrections."""

    counts: Annotated[list[CountedLine], msgspec.Meta(min_length=1, max_length=10_000)]
    reason: ShortText | None = None


class StockDifference(msgspec.Struct, kw_only=True):
    """A count that differs from on_hand + awaiting_dispatch. `difference` is the correction to
    on hand: counted - on_hand - awaiting_dispatch, except that on hand never goes below the
    copies held for orders; the copies counted short of those are reported, not written off.
    """

    isbn13: str
    title: str
    on_hand: int
    # Sold copies not yet posted or collected: off on_hand, but still on the shelf.
    awaiting_dispatch: int = 0
    counted: int
    difference: int
    # Paid-for copies awaiting dispatch that the count did not find: an order to see to.
    missing_sold: int = 0
    # Copies held for unpaid orders (checkouts) that the count did not find either.
    missing_held: int = 0


class StockTakeResult(msgspec.Struct, kw_only=True):
    applied: bool
    counted_books: int
    differences: list[StockDifference]
    batch_id: UUID | None = None
    # By ISBN, every counted book with sold copies awaiting dispatch, differing or not: what a
    # book that matched takes off its count for its expected_on_hand.
    awaiting_dispatch: dict[str, int] = msgspec.field(default_factory=dict)


class LedgerEntryRead(msgspec.Struct, kw_only=True):
    id: int
    batch_id: UUID
    isbn13: str
    kind: Movement
    on_hand_change: int
    reserved_change: int
    on_hand_after: int
    reserved_after: int
    actor: str
    reason: str | None
    reference: str | None
    created_at: datetime


class StockBatch(msgspec.Struct, kw_only=True):
    batch_id: UUID
    entries: list[LedgerEntryRead]


class LowStockRow(msgspec.Struct, kw_only=True):
    isbn13: str
    title: str
    authors: list[str]
    on_hand: int
    reserved: int
    available: int
    reorder_point: int


class SearchHit(msgspec.Struct, kw_only=True):
    isbn13: str
    title: str
    subtitle: str | None
    authors: list[str]
    price_pence: int
    available: int
    cover_url: str | None
    match: Literal["isbn", "title", "author", "words"]


class SearchResults(msgspec.Struct, kw_only=True):
    query: str
    isbn_lookup: bool
    hits: list[SearchHit]
