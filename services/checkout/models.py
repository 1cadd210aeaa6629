"""Checkout's tables: orders with their lines and history, the books read model, webhook
events seen, emails to send, and the outbox and inbox."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.contracts.recommendation import ARTICLE_ID_LENGTH
from shared.messaging.inbox import define_inbox
from shared.messaging.message import utcnow
from shared.messaging.outbox import define_outbox

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UNCONFIRMED_COMMIT = "paid_at IS NOT NULL AND stock_committed_at IS NULL"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # Only paid orders whose sale the catalogue has not confirmed: normally none, so the
        # re-send sweep's query reads an almost empty index.
        Index(
            "ix_orders_unconfirmed_commit",
            "hold_until",
            postgresql_where=text(UNCONFIRMED_COMMIT),
            sqlite_where=text(UNCONFIRMED_COMMIT),
        ),
    )

    id: Mapped[UUID] = mapped_column(GUID, primary_key=True, default=uuid4)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), index=True)
    delivery: Mapped[str] = mapped_column(String(12))
    payment_method: Mapped[str | None] = mapped_column(String(20))

    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(320), index=True)
    customer_phone: Mapped[str | None] = mapped_column(String(40))
    # Lines of the postal address, as the customer gave them; None for collection.
    address: Mapped[list[str] | None] = mapped_column(JSON)

    books_pence: Mapped[int] = mapped_column(Integer)
    postage_pence: Mapped[int] = mapped_column(Integer)
    postage_vat_pence: Mapped[int] = mapped_column(Integer)
    total_pence: Mapped[int] = mapped_column(Integer)
    refunded_pence: Mapped[int] = mapped_column(Integer, default=0)

    # The key of the catalogue's hold on the copies (ReserveStock.order_id). It is the
    # order's id at first and a fresh one when a late payment re-reserves, because the
    # catalogue closes a released hold for good.
    reservation_id: Mapped[UUID] = mapped_column(GUID, index=True)
    hold_until: Mapped[datetime | None] = mapped_column(DateTimeUTC, index=True)
    # When the catalogue confirmed it sold the paid order's copies (ReservationCommitted);
    # until then the commit is sent again (services/checkout/stock_commits.py).
    stock_committed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC)
    # While a refund of the order is being made (services/checkout/refund_turns.py).
    refund_started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC)

    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_session_url: Mapped[str | None] = mapped_column(Text)
    stripe_session_expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC)
    stripe_payment_intent: Mapped[str | None] = mapped_column(String(255))
    sessions_created: Mapped[int] = mapped_column(Integer, default=0)

    article_id: Mapped[str | None] = mapped_column(String(ARTICLE_ID_LENGTH))
    article_link: Mapped[str | None] = mapped_column(Text)
    # The client's Idempotency-Key of a phone order: a retried submit finds this order.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attention_reason: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow, onupdate=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTimeUTC)
    fulfilled_as: Mapped[str | None] = mapped_column(String(12))

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        order_by="OrderLine.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    history: Mapped[list[StatusChange]] = relationship(
        back_populates="order",
        order_by="StatusChange.id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    isbn13: Mapped[str] = mapped_column(String(13))
    # Copied at order time: a later price or title change does not touch a placed order.
    title: Mapped[str] = mapped_column(Text)
    unit_price_pence: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines")


class StatusChange(Base):
    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="history")


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("orders.id"), index=True)
    # None for money handed back at the shop counter.
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The staff form's key: its second submit (a double click) finds this refund.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    # Its copies went back on the shelf: refunded before they left the shop, or sent back.
    restocked: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    lines: Mapped[list[RefundLine]] = relationship(
        order_by="RefundLine.id", cascade="all, delete-orphan", lazy="selectin"
    )


class RefundLine(Base):
    """Copies of one of the order's lines that a refund paid back: a copy is refunded once. A
    refund of everything left names the copies not refunded before; refunds by amount or on
    Stripe's dashboard name none."""

    __tablename__ = "refund_lines"
    __table_args__ = (UniqueConstraint("refund_id", "isbn13"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    refund_id: Mapped[int] = mapped_column(Integer, ForeignKey("refunds.id"), index=True)
    isbn13: Mapped[str] = mapped_column(String(13))
    quantity: Mapped[int] = mapped_column(Integer)


class Book(Base):
    """Checkout's read model of the catalogue, kept by BookChanged events."""

    __tablename__ = "books"

    isbn13: Mapped[str] = mapped_column(String(13), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    price_pence: Mapped[int] = mapped_column(Integer)
    available: Mapped[int] = mapped_column(Integer)
    withdrawn: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow, onupdate=utcnow)


class StripeEvent(Base):
    """Every Stripe event id handled: a second delivery of the same event changes nothing."""

    __tablename__ = "stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[UUID | None] = mapped_column(GUID)
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)


class Email(Base):
    """An email written in the transaction that caused it, delivered after commit."""

    __tablename__ = "emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[UUID | None] = mapped_column(GUID, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
