"""The recommendation service's tables, on its own declarative base.

`books` is this service's copy of the catalogue's facts, fed only by `catalogue.book_changed`
events. `index_state` holds one row: `version` rises with every change to `books` (each
changed book records the version it was written at, so a process's in-memory index fetches
just the rows newer than its own), and `generation` rises when the index is rebuilt.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.recommendation import ARTICLE_ID_LENGTH
from shared.messaging.inbox import define_inbox
from shared.messaging.outbox import define_outbox

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RowId = BigInteger().with_variant(Integer, "sqlite")
RANKING_FINGERPRINT_LENGTH = 32


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Book(Base):
    __tablename__ = "books"

    isbn13: Mapped[str] = mapped_column(String(13), primary_key=True)
    # The catalogue's version of the book: an event older than this one changes nothing.
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    subtitle: Mapped[str | None] = mapped_column(String(500))
    authors: Mapped[list[str]] = mapped_column(JSON)
    publisher: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(40))
    price_pence: Mapped[int] = mapped_column(Integer)
    subjects: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text, default="")
    available: Mapped[int] = mapped_column(Integer, default=0)
    # Withdrawn books stay as rows, so a late, older event cannot bring them back.
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    index_version: Mapped[int] = mapped_column(Integer, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC)


class IndexState(Base):
    __tablename__ = "index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    generation: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(ARTICLE_ID_LENGTH), primary_key=True)
    headline: Mapped[str] = mapped_column(String(500))
    published: Mapped[date | None] = mapped_column(Date)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC, index=True)
    # The cached books were ranked at this index version and generation, for this many books,
    # by the ranking of this fingerprint (`fingerprint`); null when there is no cache (new
    # article, new pins or bans, reindex).
    cached_version: Mapped[int | None] = mapped_column(Integer)
    cached_generation: Mapped[int | None] = mapped_column(Integer)
    cached_k: Mapped[int | None] = mapped_column(Integer)
    cached_ranking: Mapped[str | None] = mapped_column(String(RANKING_FINGERPRINT_LENGTH))


class CachedBook(Base):
    """An article's ranked books as last computed: ISBN, score and reason, in order."""

    __tablename__ = "article_books"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    isbn13: Mapped[str] = mapped_column(String(13))
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)


class EditorRule(Base):
    """An editor's pin (first, in the order pinned) or ban (never) of a book for an article."""

    __tablename__ = "editor_rules"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    isbn13: Mapped[str] = mapped_column(String(13), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)

    __table_args__ = (CheckConstraint("kind IN ('pin', 'ban')", name="kind_known"),)


class Click(Base):
    __tablename__ = "clicks"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(ARTICLE_ID_LENGTH))
    isbn13: Mapped[str] = mapped_column(String(13))
    at: Mapped[datetime] = mapped_column(DateTimeUTC)

    __table_args__ = (Index("ix_clicks_article_isbn", "article_id", "isbn13"),)


class AttributedOrder(Base):
    """A paid order that came from an article's link (checkout's OrderPaid)."""

    __tablename__ = "attributed_orders"

    order_id: Mapped[UUID] = mapped_column(GUID, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(ARTICLE_ID_LENGTH), index=True)
    isbn13: Mapped[str | None] = mapped_column(String(13))
    reference: Mapped[str] = mapped_column(String(100))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    total_pence: Mapped[int] = mapped_column(Integer)
    paid_at: Mapped[datetime] = mapped_column(DateTimeUTC)


class AttributedRefund(Base):
    """Money checkout gave back on an order an article brought (its OrderRefunded).

    A row of its own, not a running total on the order: the refund may arrive before the
    order's OrderPaid (Celery keeps no order between messages), and is kept until then. Keyed
    by the message, so the same refund delivered again is the same row; an order's refunds
    count in the report only once its paid order is here, and never beyond what it paid.
    """

    __tablename__ = "attributed_refunds"

    message_id: Mapped[UUID] = mapped_column(GUID, primary_key=True)
    order_id: Mapped[UUID] = mapped_column(GUID, index=True)
    amount_pence: Mapped[int] = mapped_column(Integer)


class RefundedCopies(Base):
    """Copies of one book a refund paid back (its OrderRefunded's `copies`), under the refund's
    message: the report takes them off the order's copies sold."""

    __tablename__ = "refunded_copies"

    message_id: Mapped[UUID] = mapped_column(
        GUID, ForeignKey("attributed_refunds.message_id"), primary_key=True
    )
    isbn13: Mapped[str] = mapped_column(String(13), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)
