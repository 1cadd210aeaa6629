"""Where a paid order is on the packing table, read from the order itself and, for queries, as
the same test in SQL: the two are kept side by side here because they must agree."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, and_, or_

from services.checkout.domain import OrderStatus, PaymentMethod
from services.checkout.models import Order


class FulfilmentStage(StrEnum):
    """Where a paid order is on the packing table. Picking and packing are steps written in the
    order's history, not statuses: the order stays paid until it is dispatched or collected."""

    TO_PICK = "to_pick"
    PICKING = "picking"
    PACKED = "packed"
    DONE = "done"


# The steps staff record, in order; dispatched or collected (fulfil) ends the queue.
FULFILMENT_STEPS = (FulfilmentStage.PICKING, FulfilmentStage.PACKED)
_STEP_NAMES = frozenset(step.value for step in FULFILMENT_STEPS)


def fulfilment_stage(order: Order) -> FulfilmentStage | None:
    """The order's place in the fulfilment queue; None if it is not in the queue."""
    if order.status == OrderStatus.FULFILLED:
        return FulfilmentStage.DONE
    if not _in_fulfilment(order):
        return None
    steps = [change.status for change in order.history if change.status in _STEP_NAMES]
    return FulfilmentStage(steps[-1]) if steps else FulfilmentStage.TO_PICK


def _in_fulfilment(order: Order) -> bool:
    """Paid, or to be paid at the counter: either way the books are made ready."""
    return order.status == OrderStatus.PAID or (
        order.status == OrderStatus.AWAITING_PAYMENT
        and order.payment_method == PaymentMethod.ON_COLLECTION
    )


def in_fulfilment_clause() -> ColumnElement[bool]:
    """`_in_fulfilment` as a query's condition."""
    return or_(
        Order.status == OrderStatus.PAID.value,
        and_(
            Order.status == OrderStatus.AWAITING_PAYMENT.value,
            Order.payment_method == PaymentMethod.ON_COLLECTION.value,
        ),
    )
