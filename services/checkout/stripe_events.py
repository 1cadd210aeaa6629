"""What Stripe tells us, through its webhook: the only way an order becomes paid.

Every event is handled once (its id is stored with the change it caused) and in any order:
each handler looks at the order's state, not at which event came before. Work that needs
another call first (re-reserving for a late payment, refunding when the copies are gone)
claims the event only when it is finished, so Stripe's retries drive it to the end.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError

from services.checkout import domain, emails
from services.checkout.domain import (
    HOLDING,
    LATE_PAYMENT_FROM,
    Delivery,
    OrderStatus,
    PaymentMethod,
)
from services.checkout.models import Order, StripeEvent
from services.checkout.orders import (
    Clock,
    end_if_refunded,
    is_duplicate,
    load_for_update,
    move,
    order_id_from,
    order_paid_event,
    order_refunded_event,
    queue_email,
    record_refund,
    release,
    stock_lines,
)
from services.checkout.payments import CheckoutSession, PaymentGateway, session_from
from services.checkout.service import Requester
from services.checkout.settings import CheckoutSettings
from shared.contracts import (
    CommitReservation,
    ReleaseReservation,
    ReservationReply,
    ReserveStock,
)
from shared.db import Database
from shared.errors import TemporarilyUnavailable
from shared.messaging.errors import MessagingError
from shared.messaging.message import utcnow
from shared.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

HANDLED_TYPES = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "charge.refunded",
    }
)
LINK_LAPSED = "payment link expired; the copies are still held"


class StripeEventService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        db: Database,
        requester: Requester,
        payments: PaymentGateway,
        settings: CheckoutSettings,
        clock: Clock = utcnow,
    ) -> None:
        self._uow = uow
        self._db = db
        self._requester = requester
        self._payments = payments
        self._settings = settings
        self._now = clock

    async def receive(self, payload: bytes, signature: str | None) -> str:
        """Verify, de-duplicate and handle one delivery; returns what was done, for the log."""
        event = self._payments.verify_webhook(payload, signature)
        if await self._seen(event["id"]):
            return "duplicate"
        kind = event["type"]
        data = event["data"]["object"]
        if kind not in HANDLED_TYPES:
            return await self._claim_only(event, None)
        if kind == "charge.refunded":
            return await self._charge_refunded(event, data)
        session = session_from(data)
        if kind == "checkout.session.completed":
            if session.payment_status != "paid":
                return await self._payment_started(event, session)
            return await self._payment_succeeded(event, session)
        if kind == "checkout.session.async_payment_succeeded":
            return await self._payment_succeeded(event, session)
        if kind == "checkout.session.async_payment_failed":
            return await self._session_closed(
                event, session, OrderStatus.CANCELLED, domain.PAYMENT_FAILED
            )
        return await self._session_closed(event, session, OrderStatus.EXPIRED, "session expired")

    # --- de-duplication -----------------------------------------------------------------------

    async def _seen(self, event_id: str) -> bool:
        async with self._db.reading() as session:
            return await session.get(StripeEvent, event_id) is not None

    @staticmethod
    def _claim(uow: UnitOfWork, event: dict[str, Any], order: Order | None) -> None:
        uow.session.add(
            StripeEvent(
                event_id=event["id"],
                type=event["type"],
                order_id=order.id if order is not None else None,
            )
        )

    async def _claim_only(self, event: dict[str, Any], order: Order | None) -> str:
        try:
            async with self._uow() as uow:
                self._claim(uow, event, order)
        except IntegrityError as error:
            if not is_duplicate(error):
                raise
            return "duplicate"
        return "ignored"

    async def _order_for(self, uow: UnitOfWork, session: CheckoutSession) -> Order | None:
        order_id = order_id_from(session.metadata)
        if order_id is not None:
            order = await load_for_update(uow.session, id=order_id)
            if order is not None:
                return order
        return await load_for_update(uow.session, stripe_session_id=session.id)

    # --- checkout sessions --------------------------------------------------------------------

    async def _payment_started(self, event: dict[str, Any], session: CheckoutSession) -> str:
        """Completed but not yet paid (a bank transfer): remember the payment, keep the hold."""
        try:
            async with self._uow() as uow:
                order = await self._order_for(uow, session)
                self._claim(uow, event, order)
                if order is not None:
                    order.stripe_payment_intent = session.payment_intent
                    self._customer_details(order, session)
        except IntegrityError as error:
            if not is_duplicate(error):
                raise
            return "duplicate"
        return "payment under way"

    async def _payment_succeeded(self, event: dict[str, Any], session: CheckoutSession) -> str:
        try:
            async with self._uow() as uow:
                order = await self._order_for(uow, session)
                if order is None:
                    log.error("Stripe session %s was paid but names no order of ours", session.id)
                    self._claim(uow, event, None)
                    return "no such order"
                if self._hold_is_good(order):
                    self._claim(uow, event, order)
                    await self._mark_paid(uow, order, session, note="paid through Stripe")
                    return "paid"
                if order.status not in (*LATE_PAYMENT_FROM, *HOLDING, OrderStatus.NEEDS_ATTENTION):
                    # Already paid (or refunded) by an earlier event about the same payment.
                    self._claim(uow, event, order)
                    return "already handled"
                order_id = order.id
        except IntegrityError as error:
            if not is_duplicate(error):
                raise
            return "duplicate"
        return await self._late_payment(event, session, order_id)

    def _hold_is_good(self, order: Order) -> bool:
        return (
            order.status in HOLDING
            and order.hold_until is not None
            and order.hold_until > self._now()
        )

    async def _mark_paid(
        self, uow: UnitOfWork, order: Order, session: CheckoutSession, *, note: str
    ) -> None:
        now = self._now()
        if order.status == OrderStatus.RESERVED:
            move(order, OrderStatus.AWAITING_PAYMENT, at=now, note="paid before the link was sent")
        move(order, OrderStatus.PAID, at=now, note=note)
        order.paid_at = now
        order.stripe_payment_intent = session.payment_intent
        self._customer_details(order, session)
        await uow.publish(CommitReservation(order_id=order.reservation_id))
        await order_paid_event(uow, order)
        if order.customer_email:
            queue_email(
                uow.session,
                order,
                emails.confirmation(
                    order,
                    status_url=f"{self._settings.public_url.rstrip('/')}/orders/status",
                    postage_vat_percent=self._settings.postage_vat_percent,
                ),
            )
        # Events come in any order: a full refund Stripe told us of before the payment ends
        # the order here, as it would have had the payment come first.
        if domain.status_after_refund(
            total_pence=order.total_pence, refunded_pence=order.refunded_pence
        ):
            move(order, OrderStatus.REFUNDED, at=now, note="refunded on Stripe")

    @staticmethod
    def _customer_details(order: Order, session: CheckoutSession) -> None:
        if not order.customer_email and session.customer_email:
            order.customer_email = session.customer_email
        if not order.customer_name and session.customer_name:
            order.customer_name = session.customer_name
        shipping = session.shipping
        if order.delivery != Delivery.POST or order.address or shipping is None:
            return
        name = (shipping.name or "").strip()
        if not order.customer_name and name:
            order.customer_name = name
        lines = shipping.lines()
        # Books sent to someone other than the payer carry the addressee's name on the parcel.
        if name and name.casefold() != (order.customer_name or "").strip().casefold():
            lines.insert(0, name)
        order.address = lines or None

    async def _late_payment(
        self, event: dict[str, Any], session: CheckoutSession, order_id: UUID
    ) -> str:
        """Paid after the hold lapsed: hold the copies again, or refund if they are gone."""
        async with self._db.reading() as db_session:
            order = await db_session.get(Order, order_id)
        assert order is not None
        if order.status == OrderStatus.NEEDS_ATTENTION:
            return await self._refund_late_payment(event, session, order_id)
        reservation_id = uuid4()
        hold_until = self._now() + timedelta(minutes=self._settings.reservation_margin_minutes)
        try:
            reply = await self._requester.request(
                ReserveStock(
                    order_id=reservation_id,
                    lines=stock_lines(order),
                    expires_at=hold_until,
                    reference=order.reference,
                ),
                ReservationReply,
                timeout=self._settings.reply_timeout_seconds,
            )
        except MessagingError as error:
            async with self._uow() as uow:
                await uow.publish(
                    _release_of(reservation_id, "no reply to a late payment's reservation")
                )
            raise TemporarilyUnavailable(
                "The catalogue did not answer; Stripe will deliver this event again.",
                retry_after_seconds=60,
            ) from error
        try:
            async with self._uow() as uow:
                order = await load_for_update(uow.session, id=order_id)
                assert order is not None
                lapsed = order.status in HOLDING or order.status in LATE_PAYMENT_FROM
                if not lapsed:
                    self._claim(uow, event, order)
                    if reply.ok:
                        await uow.publish(_release_of(reservation_id, "payment already handled"))
                    return "already handled"
                now = self._now()
                if order.status in HOLDING:
                    # The hold ran out while the reader was paying: the old hold goes back.
                    move(order, OrderStatus.EXPIRED, at=now, note="the hold ended during payment")
                    await release(uow, order, "the hold ended during payment")
                if reply.ok:
                    self._claim(uow, event, order)
                    order.reservation_id = reservation_id
                    order.hold_until = hold_until
                    await self._mark_paid(
                        uow, order, session, note="paid after the hold lapsed; copies held again"
                    )
                    return "paid late, copies held again"
                # The event is claimed only once the refund is done, so a redelivery
                # finishes the work if the refund fails now.
                move(
                    order,
                    OrderStatus.NEEDS_ATTENTION,
                    at=now,
                    note="paid after the hold lapsed; the copies are gone",
                )
                order.attention_reason = "late payment: copies sold meanwhile; refunding in full"
                order.stripe_payment_intent = session.payment_intent
                self._customer_details(order, session)
        except IntegrityError as error:
            if not is_duplicate(error):
                raise
            return "duplicate"
        return await self._refund_late_payment(event, session, order_id)

    async def _refund_late_payment(
        self, event: dict[str, Any], session: CheckoutSession, order_id: UUID
    ) -> str:
        async with self._db.reading() as db_session:
            order = await db_session.get(Order, order_id)
        assert order is not None
        intent = order.stripe_payment_intent or session.payment_intent
        assert intent is not None
        made = await self._payments.refund(
            payment_intent=intent,
            amount_pence=order.total_pence - order.refunded_pence,
            idempotency_key=f"order-{order.id}-late-payment-refund",
            order_id=str(order.id),
        )
        try:
            async with self._uow() as uow:
                order = await load_for_update(uow.session, id=order_id)
                assert order is not None
                self._claim(uow, event, order)
                if order.status != OrderStatus.NEEDS_ATTENTION:
                    return "already handled"
                before = order.refunded_pence
                now = self._now()
                await record_refund(
                    uow.session, order, made, reason="late payment, copies gone", at=now
                )
                move(order, OrderStatus.REFUNDED, at=now, note="refunded: copies gone")
                # Stripe's charge.refunded may have been handled first and counted it already.
                await order_refunded_event(uow, order, before=before)
                if order.customer_email:
                    queue_email(
                        uow.session,
                        order,
                        emails.late_payment_refunded(order, amount_pence=made.amount_pence),
                    )
        except IntegrityError as error:
            if not is_duplicate(error):
                raise
            return "duplicate"
        return "refunded: copies gone"

    async def _session_closed(
        self, event: dict[str, Any], session: CheckoutSession, status: OrderStatus, why: str
    ) -> str:
        """Expired or failed: the hold goes back, unless the order moved on already."""
        try:
            async with self._uow() as uow:
                order = await self._order_for(uow, session)
                self._claim(uow, event, order)
                if order is None or order.status not in HOLDING:
                    return "nothing to close"
                if order.stripe_session_id and order.stripe_session_id != session.id:
                    return "an older session"
                if order.payment_method == PaymentMethod.ON_COLLECTION:
                    # Staff ended the link for payment at the counter; the copies stay held.
                    return "to be paid on collection"
                if status is OrderStatus.EXPIRED and self._link_renewable(order):
                    # A collection order's copies are held for days, its link lives a day at
                    # most: staff send a new link or take payment at the counter instead.
                    if order.status == OrderStatus.AWAITING_PAYMENT:
                        move(order, OrderStatus.RESERVED, at=self._now(), note=LINK_LAPSED)
                    return LINK_LAPSED
                move(order, status, at=self._now(), note=why)
                await release(uow, order, why)
                if status is OrderStatus.CANCELLED and order.customer_email:
                    # Told on the way that the books were held until the transfer came, the
                    # reader would otherwise wait for an email that never comes.
                    queue_email(uow.session, order, emails.transfer_failed(order))
        except IntegrityError as error:
            if not is_duplicate(error):
                raise
            return "duplicate"
        return why

    def _link_renewable(self, order: Order) -> bool:
        """A phone order's payment link whose copies stay held long enough for a new one."""
        return (
            order.payment_method == PaymentMethod.PAYMENT_LINK
            and order.hold_until is not None
            and domain.payment_link_expiry(
                hold_until=order.hold_until,
                now=self._now(),
                margin=timedelta(minutes=self._settings.reservation_margin_minutes),
            )
            is not None
        )

    # --- refunds ------------------------------------------------------------------------------

    async def _charge_refunded(self, event: dict[str, Any], charge: dict[str, Any]) -> str:
        """A refund made here or on Stripe's dashboard: amount_refunded is the running total."""
        order_id = order_id_from(dict(charge.get("metadata") or {}))
        try:
            async with self._uow() as uow:
                order = None
                if order_id is not None:
                    order = await load_for_update(uow.session, id=order_id)
                if order is None and charge.get("payment_intent"):
                    order = await load_for_update(
                        uow.session, stripe_payment_intent=charge["payment_intent"]
                    )
                self._claim(uow, event, order)
                if order is None:
                    return "no such order"
                before = order.refunded_pence
                # Money only: the event names no books. Our refunds by line record their
                # copies themselves (record_refund); one made on Stripe's dashboard leaves every
                # line's copies refundable by line, and the money cap raised here still bounds
                # every later refund.
                order.refunded_pence = max(before, int(charge.get("amount_refunded") or 0))
                if order.refunded_pence > before:
                    await end_if_refunded(uow, order, at=self._now(), note="refunded on Stripe")
                await order_refunded_event(uow, order, before=before)
        except IntegrityError as error:
            if not is_duplicate(error):
                raise
            return "duplicate"
        return "refund recorded"


def _release_of(reservation_id: UUID, reason: str) -> ReleaseReservation:
    return ReleaseReservation(order_id=reservation_id, reason=reason)
