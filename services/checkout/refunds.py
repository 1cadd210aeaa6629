"""What a refund staff ask for comes to, by the domain's rules: the way its money goes back
(through Stripe, or handed over at the counter), the copies it pays back, whether they go back
on the shelf, and how much. The same for either way; only the use case's call to Stripe
differs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from services.checkout import domain
from services.checkout.domain import OrderStatus, RefundRoute
from services.checkout.models import Order
from services.checkout.orders import priced_lines
from shared.errors import Conflict


@dataclass(frozen=True)
class RefundAsked:
    """An amount, some copies (ISBN-13 -> copies) or everything left; `restock` None leaves
    the shelf to the rule (`domain.restocks`)."""

    amount_pence: int | None = None
    copies: Mapping[str, int] | None = None
    everything: bool = False
    restock: bool | None = None


@dataclass(frozen=True)
class RefundPlan:
    route: RefundRoute
    copies: dict[str, int] | None
    restocked: bool
    # None: everything left on the order, postage and all.
    amount_pence: int | None

    def amount_for(self, order: Order) -> int:
        """The pence this refund gives back of `order` as it stands."""
        if self.amount_pence is None:
            return order.total_pence - order.refunded_pence
        return self.amount_pence


def refund_route_of(order: Order) -> RefundRoute | None:
    """How the order's money goes back (`domain.refund_route`); None if it cannot yet."""
    return domain.refund_route(
        OrderStatus(order.status),
        payment_method=order.payment_method,
        paid_through_stripe=order.stripe_payment_intent is not None,
    )


def plan_refund(order: Order, refunded: Mapping[str, int], asked: RefundAsked) -> RefundPlan:
    """The refund `asked` of `order`, whose lines' copies `refunded` (ISBN -> copies) were
    paid back before; Conflict or InvalidInput if the rules refuse it.

    Paid orders, and fulfilled ones (a book that arrives damaged, or comes back). A refund by
    lines pays back only copies no earlier refund by line has; every refund stays within the
    money left on the order."""
    route = refund_route_of(order)
    if route is None:
        raise Conflict(
            f"Order {order.reference} is {order.status.replace('_', ' ')}: only an order paid "
            "by card or at the counter, and not refunded in full, can be refunded."
        )
    lines = priced_lines(order)
    copies = None if asked.copies is None else dict(asked.copies)
    if asked.everything:
        copies = {
            isbn13: left for isbn13, left in domain.copies_left(lines, refunded).items() if left
        }
    restocked = domain.restocks(OrderStatus(order.status), copies=copies, asked=asked.restock)
    if asked.everything:
        return RefundPlan(route=route, copies=copies, restocked=restocked, amount_pence=None)
    amount: int | None = domain.refund_amount(
        total_pence=order.total_pence,
        refunded_pence=order.refunded_pence,
        amount_pence=asked.amount_pence,
        lines_pence=None
        if copies is None
        else domain.lines_refund_pence(lines, refunded=refunded, wanted=copies),
    )
    if (
        copies
        and order.status == OrderStatus.PAID
        and domain.nothing_left_to_send(lines, Counter(refunded) + Counter(copies))
    ):
        # Every book refunded before any was sent: the postage goes back too, and the order
        # ends rather than waiting in the packing queue with nothing to pack.
        amount = None
    return RefundPlan(route=route, copies=copies, restocked=restocked, amount_pence=amount)
