"""The catalogue's tables, on its own declarative base (its own MetaData, so no other service's
tables ever appear in its migrations)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.messaging.inbox import define_inbox
from shared.messaging.outbox import define_outbox

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Search terms are compared byte by byte: a prefix range (term >= 'abc' AND term < 'abc~') must
# mean "starts with", which Postgres' default, locale-aware collation does not promise.
SearchTermText = String(200).with_variant(String(200, collation="C"), "postgresql")
LedgerId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Book(Base):
    __tablename__ = "books"

    isbn13: Mapped[str] = mapped_column(String(13), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    subtitle: Mapped[str | None] = mapped_column(String(500))
    # Ordered as on the cover: a JSON list keeps the order without a join on every read.
    authors: Mapped[list[str]] = mapped_column(JSON)
    publisher: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(40))
    price_pence: Mapped[int] = mapped_column(Integer)
    subjects: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text, default="")
    cover_url: Mapped[str | None] = mapped_column(String(1000))
    reorder_point: Mapped[int] = mapped_column(Integer, default=1)
    # Rises with every change of the book or its availability: BookChanged carries it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC)

    __table_args__ = (
        CheckConstraint("price_pence >= 0", name="price_not_negative"),
        CheckConstraint("reorder_point >= 0", name="reorder_point_not_negative"),
    )


class Stock(Base):
    """Counters changed only by conditional UPDATEs (see stock.py), never read-modify-write."""

    __tablename__ = "stock"

    isbn13: Mapped[str] = mapped_column(
        String(13), ForeignKey("books.isbn13", ondelete="CASCADE"), primary_key=True
    )
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="held_copies_on_hand"),
    )


class Reservation(Base):
    """One order's hold. `status`: held, committed, released (also the marker of a release that
    came before its reserve) or expired (the sweep let it go; a late payment may hold again).
    `closed_at`: when its sale stopped waiting on the shelf (posted, collected or refunded).
    `reference`: the order's as staff know it, which its ledger entries name; None for a hold
    asked for without one (before ReserveStock carried it), whose entries name `order_id`."""

    __tablename__ = "reservations"

    order_id: Mapped[UUID] = mapped_column(GUID, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC)
    reference: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        Index("ix_reservations_status_expires_at", "status", "expires_at"),
        # The sales still open (dispatch.py), few however many the shop has made. Not a partial
        # index: SQLite, which keeps no statistics here, would prefer the one above to it.
        Index("ix_reservations_status_closed_at", "status", "closed_at"),
    )


class ReservationLine(Base):
    __tablename__ = "reservation_lines"

    order_id: Mapped[UUID] = mapped_column(
        GUID, ForeignKey("reservations.order_id", ondelete="CASCADE"), primary_key=True
    )
    isbn13: Mapped[str] = mapped_column(String(13), ForeignKey("books.isbn13"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    # Copies of a sold line back on the shelf (returns.py): never more than `quantity`.
    returned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class LedgerEntry(Base):
    """Append-only: every change of a stock counter, who made it, why, and the counters after it."""

    __tablename__ = "stock_ledger"

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    batch_id: Mapped[UUID] = mapped_column(GUID, index=True)
    isbn13: Mapped[str] = mapped_column(String(13), ForeignKey("books.isbn13"))
    kind: Mapped[str] = mapped_column(String(30))
    on_hand_change: Mapped[int] = mapped_column(Integer)
    reserved_change: Mapped[int] = mapped_column(Integer)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reserved_after: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)

    __table_args__ = (Index("ix_stock_ledger_isbn13_id", "isbn13", "id"),)


class SearchTerm(Base):
    """The search index: normalised terms per book, kind 0 ISBN, 1 title, 2 author name, 3 word.

    See search.py for why a term table rather than FTS5 or tsvector.
    """

    __tablename__ = "search_terms"

    isbn13: Mapped[str] = mapped_column(
        String(13), ForeignKey("books.isbn13", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    term: Mapped[str] = mapped_column(SearchTermText, primary_key=True)
    # 0 in stock, 1 not: in the lookup index before the term, so "in stock first" is two range scans.
    out_of_stock: Mapped[int] = mapped_column(SmallInteger)
    # The book's domain.words_mask, on each of its rows: a several-word search drops most books
    # lacking another word by reading it from the lookup index instead of probing the terms.
    words_mask: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index(
            "ix_search_terms_lookup",
            "kind",
            "out_of_stock",
            "term",
            # A key column rather than INCLUDEd, so SQLite's index covers it too.
            "words_mask",
            postgresql_include=["isbn13"],
        ),
        {"sqlite_with_rowid": False},
    )


class StaffAccount(Base):
    """Who may sign in to the staff pages, with which roles (see shared.auth)."""

    __tablename__ = "staff_accounts"

    id: Mapped[UUID] = mapped_column(GUID, primary_key=True)
    # Kept lower-case, so the unique constraint makes usernames unique regardless of case.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTimeUTC)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint("username = lower(username)", name="username_lower_case"),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts_not_negative"),
    )


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)
