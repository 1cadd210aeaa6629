"""The JSON shapes of checkout's API: what staff send and what they get back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from services.checkout.domain import EMAIL_ADDRESS
from services.checkout.models import Order

ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class CustomerIn(msgspec.Struct, frozen=True, kw_only=True):
    name: ShortText
    email: Annotated[str, msgspec.Meta(pattern=f"^{EMAIL_ADDRESS}$", max_length=320)]
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    # Lines of a UK postal address; required when the books are posted.
    address: Annotated[list[ShortText], msgspec.Meta(max_length=8)] | None = None


class LineIn(msgspec.Struct, frozen=True, kw_only=True):
    isbn: Annotated[str, msgspec.Meta(max_length=20)]
    quantity: int


class PhoneOrderCreate(msgspec.Struct, frozen=True, kw_only=True):
    customer: CustomerIn
    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=30)]
    delivery: Literal["post", "collection"]


class RefundLineIn(msgspec.Struct, frozen=True, kw_only=True):
    isbn: Annotated[str, msgspec.Meta(max_length=20)]
    quantity: Annotated[int, msgspec.Meta(ge=1)]


class RefundCreate(msgspec.Struct, frozen=True, kw_only=True):
    """Either `amount_pence` or `lines` (the value of those copies is refunded). `restock`:
    whether the copies go back on the shelf; left out, they do if the order was not yet
    dispatched or collected."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    amount_pence: int | None = None
    lines: list[RefundLineIn] | None = None
    restock: bool | None = None


class FulfilIn(msgspec.Struct, frozen=True, kw_only=True):
    how: Literal["dispatched", "collected"]


class LineRead(msgspec.Struct, frozen=True, kw_only=True):
    isbn13: str
    title: str
    unit_price_pence: int
    quantity: int


class StatusChangeRead(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    at: datetime
    note: str | None


class OrderRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    reference: str
    channel: str
    status: str
    delivery: str
    payment_method: str | None
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    address: list[str] | None
    lines: list[LineRead]
    books_pence: int
    postage_pence: int
    postage_vat_pence: int
    total_pence: int
    refunded_pence: int
    hold_until: datetime | None
    payment_url: str | None
    article_id: str | None
    article_link: str | None
    attention_reason: str | None
    fulfilled_as: str | None
    history: list[StatusChangeRead]

    @classmethod
    def of(cls, order: Order) -> OrderRead:
        return cls(
            id=order.id,
            reference=order.reference,
            channel=order.channel,
            status=order.status,
            delivery=order.delivery,
            payment_method=order.payment_method,
            customer_name=order.customer_name,
            customer_email=order.customer_email,
            customer_phone=order.customer_phone,
            address=order.address,
            lines=[
                LineRead(
                    isbn13=line.isbn13,
                    title=line.title,
                    unit_price_pence=line.unit_price_pence,
                    quantity=line.quantity,
                )
                for line in order.lines
            ],
            books_pence=order.books_pence,
            postage_pence=order.postage_pence,
            postage_vat_pence=order.postage_vat_pence,
            total_pence=order.total_pence,
            refunded_pence=order.refunded_pence,
            hold_until=order.hold_until,
            payment_url=order.stripe_session_url if order.status == "awaiting_payment" else None,
            article_id=order.article_id,
            article_link=order.article_link,
            attention_reason=order.attention_reason,
            fulfilled_as=order.fulfilled_as,
            history=[
                StatusChangeRead(status=change.status, at=change.at, note=change.note)
                for change in order.history
            ],
        )
