"""What checkout's emails say: confirmation (or the counter's receipt), payment link, ready to
collect, dispatch notice, refunds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.checkout.domain import Delivery, OrderStatus, PaymentMethod
from services.checkout.models import Order
from shared.money import format_pence
from shared.shop_time import spoken_time


@dataclass(frozen=True)
class EmailMessage:
    kind: str
    to_address: str
    subject: str
    body: str


def _receipt(order: Order, postage_vat_percent: int) -> str:
    rows = [
        f"  {line.quantity} x {line.title} @ {format_pence(line.unit_price_pence)}"
        f" = {format_pence(line.unit_price_pence * line.quantity)}"
        for line in order.lines
    ]
    if order.delivery == Delivery.COLLECTION:
        postage = "Collection from the shop: free"
    elif not order.postage_pence:
        postage = "Postage: free"
    else:
        postage = (
            f"Postage: {format_pence(order.postage_pence)} (includes VAT at"
            f" {postage_vat_percent}%: {format_pence(order.postage_vat_pence)})"
        )
    rows += [
        "",
        f"  Books (zero-rated for VAT): {format_pence(order.books_pence)}",
        f"  {postage}",
        f"  Total: {format_pence(order.total_pence)}",
        f"  VAT included in total: {format_pence(order.postage_vat_pence)}",
    ]
    return "\n".join(rows)


def _email(order: Order, kind: str, subject: str, body: str) -> EmailMessage:
    """An email to the order's customer, `body` after a greeting by name where we have one."""
    greeting = f"Dear {order.customer_name}," if order.customer_name else "Hello,"
    return EmailMessage(
        kind=kind, to_address=_recipient(order), subject=subject, body=f"{greeting}\n\n{body}"
    )


def confirmation(order: Order, *, status_url: str, postage_vat_percent: int) -> EmailMessage:
    if order.delivery == Delivery.COLLECTION:
        where = "We will let you know when it is ready to collect."
    elif order.address:
        where = f"We will post it to:\n{_address(order)}\nand email you when it is on its way."
    else:
        where = "We will email you when it is posted."
    body = (
        f"Thank you for your order {order.reference}. We have your payment.\n\n"
        f"{_receipt(order, postage_vat_percent)}\n\n"
        f"{where}\n"
        f"Follow your order at {status_url} with the reference {order.reference}.\n"
    )
    return _email(order, "confirmation", f"Your order {order.reference}", body)


def counter_receipt(order: Order, *, postage_vat_percent: int) -> EmailMessage:
    """The receipt of an order paid at the counter as it was collected: it is the order's
    confirmation, and says it was collected, so no separate notice goes with it."""
    body = (
        f"Thank you for your order {order.reference}. You paid for it at the counter when you "
        "collected it; here is your receipt.\n\n"
        f"{_receipt(order, postage_vat_percent)}\n\n"
        "Enjoy your reading.\n"
    )
    return _email(order, "confirmation", f"Your order {order.reference}: paid and collected", body)


def payment_link(
    order: Order, *, url: str, expires_at: datetime, postage_vat_percent: int
) -> EmailMessage:
    body = (
        f"Thank you for your order {order.reference}, taken by phone.\n\n"
        f"{_receipt(order, postage_vat_percent)}\n\n"
        f"Pay securely by card here:\n{url}\n\n" + _link_and_hold(order, expires_at)
    )
    return _email(order, "payment_link", f"Pay for your order {order.reference}", body)


def _link_and_hold(order: Order, expires_at: datetime) -> str:
    """How long the link works and the books are held: about the same moment (the hold ends a
    few minutes after the link), but a collection order's books are held for days, and a
    lapsed link is not the end of it."""
    link = f"The link works until {spoken_time(expires_at)} (UK time)"
    if (
        order.delivery != Delivery.COLLECTION
        or order.hold_until is None
        or order.hold_until.date() <= expires_at.date()
    ):
        return f"{link}; the books are held for you until then.\n"
    return (
        f"{link}. The books are held for you until {spoken_time(order.hold_until)}: if the link "
        "runs out before you pay, ring us for a new one, or pay when you collect.\n"
    )


def dispatch_notice(order: Order, *, refunded: Mapping[str, int]) -> EmailMessage:
    """`refunded`: copies of each line (by ISBN) refunded by line before they were sent."""
    if order.delivery == Delivery.COLLECTION:
        said = "You have collected your order. Enjoy your reading."
    else:
        said = f"Your order is on its way by post to:\n{_address(order)}"
    done = "collected" if order.delivery == Delivery.COLLECTION else "dispatched"
    return _email(
        order,
        "dispatch",
        f"Your order {order.reference} has been {done}",
        f"Order {order.reference}:\n{_books(order, refunded)}\n\n{said}\n",
    )


def ready_to_collect(order: Order) -> EmailMessage:
    """A collection order packed: what to bring, where, and what is left to pay at the counter."""
    to_pay = (
        order.status == OrderStatus.AWAITING_PAYMENT
        and order.payment_method == PaymentMethod.ON_COLLECTION
    )
    payment = "You have already paid for it."
    if to_pay:
        payment = (
            f"Please pay {format_pence(order.total_pence)} at the counter when you collect it."
        )
        if order.hold_until is not None:
            # Unpaid, it is kept only so long: then the hold lapses and the copies go back.
            payment += (
                f" We keep the books for you until {spoken_time(order.hold_until)} (UK time)."
            )
    body = (
        f"Your order {order.reference} is ready to collect:\n{_books(order)}\n\n"
        "Collect it at the shop counter during opening hours, and bring your order "
        f"reference, {order.reference}.\n"
        f"{payment}\n"
    )
    return _email(
        order, "ready_to_collect", f"Your order {order.reference} is ready to collect", body
    )


def cancelled_by_shop(order: Order) -> EmailMessage:
    link = (
        " The payment link we sent you no longer works."
        if order.payment_method == PaymentMethod.PAYMENT_LINK
        else ""
    )
    body = (
        f"Your order {order.reference} has been cancelled, and nothing has been taken:\n"
        f"{_books(order)}\n\n"
        f"If this is a surprise, or you still want the books, please ring the shop.{link}\n"
    )
    return _email(order, "cancelled", f"Your order {order.reference} has been cancelled", body)


def transfer_failed(order: Order) -> EmailMessage:
    body = (
        f"Your bank transfer for order {order.reference} did not go through, so we have "
        f"cancelled the order and nothing has been taken:\n{_books(order)}\n\n"
        "If you still want the books, please order them again from our website, or ring the "
        "shop.\n"
    )
    return _email(
        order,
        "transfer_failed",
        f"Order {order.reference}: your bank transfer did not go through",
        body,
    )


def late_payment_refunded(order: Order, *, amount_pence: int) -> EmailMessage:
    body = (
        f"Your payment for order {order.reference} reached us after the time we could hold "
        f"the books for you, and in the meantime they were sold:\n{_books(order)}\n\n"
        f"We are sorry. We have refunded {format_pence(amount_pence)} in full to your card; "
        "it usually shows within 5 to 10 working days.\n"
    )
    return _email(
        order,
        "late_payment_refund",
        f"Order {order.reference}: refunded, the books were gone",
        body,
    )


def refund_notice(
    order: Order, *, amount_pence: int, reason: str, at_counter: bool
) -> EmailMessage:
    """`at_counter`: the money was handed back in the shop, where it was paid, not to a card."""
    how = " The money was returned to you at the shop counter." if at_counter else ""
    body = (
        f"We have refunded {format_pence(amount_pence)} of your order {order.reference} "
        f"({reason}).{how} In all, {format_pence(order.refunded_pence)} of "
        f"{format_pence(order.total_pence)} has been refunded.\n"
    )
    return _email(order, "refund", f"Refund on your order {order.reference}", body)


def _books(order: Order, refunded: Mapping[str, int] | None = None) -> str:
    """The order's books, a line each, less any copies `refunded` (by ISBN)."""
    left = {
        line.isbn13: line.quantity - (refunded or {}).get(line.isbn13, 0) for line in order.lines
    }
    return "\n".join(
        f"  {left[line.isbn13]} x {line.title}" for line in order.lines if left[line.isbn13] > 0
    )


def _address(order: Order) -> str:
    return "\n".join(f"  {line}" for line in order.address or [])


def _recipient(order: Order) -> str:
    if not order.customer_email:
        raise ValueError(f"Order {order.reference} has no email address to write to.")
    return order.customer_email
