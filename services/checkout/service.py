"""Checkout's use cases: place web and phone orders, take payment, refund, fulfil, expire."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar
from uuid import UUID, uuid4

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from services.checkout import domain, emails, stock_commits
from services.checkout.domain import (
    POSTAGE_COUNTRIES,
    Channel,
    Delivery,
    OrderStatus,
    PaymentMethod,
    PricedLine,
    RefundRoute,
)
from services.checkout.fulfilment import FULFILMENT_STEPS, FulfilmentStage, fulfilment_stage
from services.checkout.models import Book, Email, Order, Refund, StatusChange
from services.checkout.orders import (
    Clock,
    add_lines,
    after_refunds,
    close_sale,
    copies_refunded,
    end_if_refunded,
    get_by_reference,
    get_for_update,
    handed_back,
    insert_order,
    is_duplicate,
    load_for_update,
    move,
    move_detached,
    order_paid_event,
    order_refunded_event,
    queue_email,
    record_refund,
    refund_asked_before,
    release,
    reprice,
    return_to_stock,
    stock_lines,
    transfer_under_way,
)
from services.checkout.payments import (
    CheckoutSession,
    PaymentGateway,
    PaymentProviderUnavailable,
    PaymentRequestRefused,
    RefundMade,
    SessionLine,
    SessionRequest,
)
from services.checkout.refund_turns import refund_turn
from services.checkout.refunds import RefundAsked, RefundPlan, plan_refund
from services.checkout.settings import CheckoutSettings
from shared.contracts import CommitReservation, ReservationReply, ReserveStock
from shared.db import Database
from shared.errors import Conflict, InvalidInput, NotFound, TemporarilyUnavailable, Unprocessable
from shared.isbn import to_isbn13
from shared.messaging.errors import MessagingError
from shared.messaging.message import Command, utcnow
from shared.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory
from shared.money import format_pence

log = logging.getLogger(__name__)

# Built once with an expanding IN: every Buy finds it compiled in SQLAlchemy's cache.
_PRICES = select(Book.isbn13, Book.title, Book.price_pence, Book.withdrawn).where(
    Book.isbn13.in_(bindparam("isbns", expanding=True))
)

R = TypeVar("R")


class Requester(Protocol):
    """Sends the one command that has a reply (the runtime's CeleryPublisher)."""

    async def request(self, command: Command, reply_type: type[R], *, timeout: float) -> R: ...


class StockUnavailable(Conflict):
    """The catalogue could not hold every copy asked for."""


@dataclass(frozen=True)
class WantedLine:
    isbn: str
    quantity: object


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    phone: str | None
    address: tuple[str, ...] | None


@dataclass(frozen=True)
class Placed:
    order: Order
    payment_url: str | None = None


@dataclass(frozen=True)
class FoundOrder:
    """An order as the reader's pages show it, and what its refunds have left of it."""

    order: Order
    now: domain.OrderAfterRefunds


class OrderService:
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

    # --- placing orders ---------------------------------------------------------------------

    async def buy(
        self,
        *,
        isbn: str,
        quantity: object,
        article_id: str | None = None,
        article_link: str | None = None,
        email: str | None = None,
        submission: str | None = None,
    ) -> Placed:
        """The reader's Buy button: order, hold the copies, open a Checkout Session.

        Stripe Checkout asks the reader for an email address; one given with the form is
        passed on to prefill it. `submission` is the id of the book page's view: a double
        click sends it twice, and the second submit lands on the first one's payment page
        rather than making an order that finds the first one's copies gone.
        """
        if email is not None and not re.fullmatch(domain.EMAIL_ADDRESS, email.strip()):
            raise InvalidInput(f"{email!r} does not look like an email address.")
        hold = timedelta(
            minutes=self._settings.web_session_minutes + self._settings.reservation_margin_minutes
        )
        lines = await self._price([WantedLine(isbn, quantity)])
        order = self._new_order(
            channel=Channel.WEB, delivery=Delivery.POST, lines=lines, hold=hold, customer=None
        )
        order.article_id = domain.article_id(article_id)
        order.article_link = (article_link or "").strip()[:2000] or None
        order.customer_email = email.strip() if email else None
        # A changed quantity is a different Buy, though from the same view of the page.
        key = (
            f"web-{submission[:100]}-{lines[0].isbn13}x{lines[0].quantity}" if submission else None
        )
        order.idempotency_key = key
        try:
            await insert_order(self._db, order)
        except IntegrityError as error:
            if key is None or not is_duplicate(error):
                raise
            earlier = await self._earlier_buy(key)
            if earlier is not None:
                return earlier
            order.idempotency_key = None
            await insert_order(self._db, order)
        reply = await self._reserve(order)
        try:
            session = await self._payments.create_session(self._session_request(order))
        except (PaymentProviderUnavailable, PaymentRequestRefused) as error:
            async with self._uow() as uow:
                order = await get_for_update(uow.session, order.reference)
                self._reserved(order, reply)
                move(order, OrderStatus.CANCELLED, at=self._now(), note=f"payment: {error}")
                await release(uow, order, "the payment provider could not open a checkout")
            raise PaymentProviderUnavailable(
                "We could not reach our card payment provider, so your order was not placed and "
                "nothing was charged. Please press Buy again in a minute.",
                retry_after_seconds=30,
            ) from error
        # One transaction records the hold and the session: the Buy writes twice in all.
        if not await move_detached(
            self._db,
            order,
            [
                (OrderStatus.RESERVED, None),
                (OrderStatus.AWAITING_PAYMENT, f"Stripe {session.id}"),
            ],
            at=self._now(),
            values={
                **self._hold_values(order, reply),
                **self._session_values(order, session, PaymentMethod.STRIPE_CHECKOUT),
            },
        ):
            async with self._uow() as uow:
                order = await get_for_update(uow.session, order.reference)
                self._reserved(order, reply)
                self._attach_session(order, session, PaymentMethod.STRIPE_CHECKOUT)
        return Placed(order=order, payment_url=session.url)

    async def _earlier_buy(self, key: str) -> Placed | None:
        """The payment page of the order an earlier submit of the same Buy made, waiting while
        that submit is still holding the copies and opening the session. None if that order
        ended unpaid (a page shown again by the browser's Back button, a Buy refused): the
        reader's Buy is then a new order."""
        deadline = time.monotonic() + (
            self._settings.reply_timeout_seconds + self._settings.stripe_timeout_seconds
        )
        while True:
            order = await self._by_idempotency_key(key)
            if order is None:
                return None
            if order.status == OrderStatus.AWAITING_PAYMENT and order.stripe_session_url:
                return Placed(order=order, payment_url=order.stripe_session_url)
            under_way = order.status in (OrderStatus.PENDING, OrderStatus.RESERVED)
            if not under_way or time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.1)

    async def place_phone_order(
        self,
        *,
        idempotency_key: str,
        customer: Customer,
        lines: Sequence[WantedLine],
        delivery: Delivery,
    ) -> tuple[Order, bool]:
        """Staff take an order by phone. Returns (order, created); a repeated key finds the first."""
        key = idempotency_key.strip()
        if not key or len(key) > 200:
            raise InvalidInput(
                "Send an Idempotency-Key header (1 to 200 characters) with the order."
            )
        existing = await self._by_idempotency_key(key)
        if existing is not None:
            return existing, False
        if customer.phone and customer.phone.strip():
            domain.check_phone(customer.phone)
        if delivery is Delivery.POST:
            if not customer.address:
                raise InvalidInput("A posted order needs the customer's postal address.")
            # A parcel without a postcode comes back; the web checkout's page asks for one too.
            if not domain.has_uk_postcode(customer.address):
                raise InvalidInput(
                    "We post only within the UK: add the postcode to the address (such as N1 1AA)."
                )
        hours = (
            self._settings.collection_hold_hours
            if delivery is Delivery.COLLECTION
            else self._settings.phone_reservation_hours
        )
        order = self._new_order(
            channel=Channel.PHONE,
            delivery=delivery,
            lines=await self._price(lines),
            hold=timedelta(hours=hours),
            customer=customer,
        )
        order.idempotency_key = key
        try:
            await insert_order(self._db, order)
        except IntegrityError as error:
            # The same submit raced itself: the other request made the order.
            existing = await self._by_idempotency_key(key)
            if existing is None or not is_duplicate(error):
                raise
            return existing, False
        reply = await self._reserve(order)
        async with self._uow() as uow:
            order = await get_for_update(uow.session, order.reference)
            self._reserved(order, reply)
        return order, True

    async def _price(self, wanted: Sequence[WantedLine]) -> list[PricedLine]:
        """Lines priced from checkout's own copy of the catalogue; the client's price is never used."""
        quantities: dict[str, int] = {}
        for line in wanted:
            isbn13 = to_isbn13(line.isbn)
            quantity = domain.parse_quantity(
                line.quantity, maximum=self._settings.max_quantity_per_line
            )
            quantities[isbn13] = quantities.get(isbn13, 0) + quantity
        async with self._db.reading() as session:
            books = {
                book.isbn13: book
                for book in await session.execute(_PRICES, {"isbns": list(quantities)})
            }
        priced = []
        for isbn13, quantity in quantities.items():
            book = books.get(isbn13)
            if book is None:
                raise NotFound(f"We do not sell a book with ISBN {isbn13}.")
            if book.withdrawn:
                raise Unprocessable(f"'{book.title}' is no longer for sale.")
            if quantity > self._settings.max_quantity_per_line:
                raise InvalidInput(
                    f"At most {self._settings.max_quantity_per_line} copies of '{book.title}'."
                )
            priced.append(
                PricedLine(
                    isbn13=isbn13,
                    title=book.title,
                    unit_price_pence=book.price_pence,
                    quantity=quantity,
                )
            )
        return priced

    def _new_order(
        self,
        *,
        channel: Channel,
        delivery: Delivery,
        lines: Sequence[PricedLine],
        hold: timedelta,
        customer: Customer | None,
    ) -> Order:
        now = self._now()
        totals = domain.totals_for(
            lines,
            delivery=delivery,
            postage=self._settings.postage_table,
            postage_vat_percent=self._settings.postage_vat_percent,
        )
        order_id = uuid4()
        order = Order(
            id=order_id,
            reference=domain.new_reference(),
            channel=channel.value,
            status=OrderStatus.PENDING.value,
            delivery=delivery.value,
            books_pence=totals.books_pence,
            postage_pence=totals.postage_pence,
            postage_vat_pence=totals.postage_vat_pence,
            total_pence=totals.total_pence,
            refunded_pence=0,
            reservation_id=order_id,
            hold_until=now + hold,
            sessions_created=0,
            created_at=now,
            lines=[],
            history=[],
        )
        if customer is not None:
            order.customer_name = customer.name.strip()
            order.customer_email = customer.email.strip()
            order.customer_phone = (customer.phone or "").strip() or None
            order.address = (
                list(customer.address) if delivery is Delivery.POST and customer.address else None
            )
        add_lines(order, lines)
        order.history.append(
            StatusChange(status=OrderStatus.PENDING.value, at=now, note=f"{channel.value} order")
        )
        return order

    async def _reserve(self, order: Order) -> ReservationReply:
        """Ask the catalogue to hold the copies, for a bounded time; leave nothing half done.

        A refusal (short lines) is recorded here; a hold is recorded by the caller, in the
        transaction that records what comes next.
        """
        assert order.hold_until is not None
        command = ReserveStock(
            order_id=order.reservation_id,
            lines=stock_lines(order),
            expires_at=order.hold_until,
            reference=order.reference,
        )
        try:
            reply = await self._requester.request(
                command, ReservationReply, timeout=self._settings.reply_timeout_seconds
            )
        except MessagingError as error:
            log.warning("order %s: no reservation reply: %s", order.reference, error)
            async with self._uow() as uow:
                order = await get_for_update(uow.session, order.reference)
                move(order, OrderStatus.CANCELLED, at=self._now(), note=f"stock: {error}")
                # A reserve that lands after we gave up is undone by this release.
                await release(uow, order, "no reply to the reservation in time")
            raise TemporarilyUnavailable(
                "We could not check our stock just now, so your order was not placed. "
                "Please try again in a moment.",
                retry_after_seconds=5,
            ) from error
        if reply.ok:
            await self._charge_as_held(order, reply)
            return reply
        titles = {line.isbn13: line.title for line in order.lines}
        shortages = (
            "; ".join(
                f"only {short.available} left of '{titles.get(short.isbn13, short.isbn13)}'"
                f" (you asked for {short.requested})"
                for short in reply.short
            )
            or "the order was closed before its copies could be held"
        )
        async with self._uow() as uow:
            order = await get_for_update(uow.session, order.reference)
            move(order, OrderStatus.REJECTED, at=self._now(), note=shortages)
        raise StockUnavailable(
            f"Sorry: {shortages}.",
            extra={
                "short": [
                    {"isbn13": s.isbn13, "requested": s.requested, "available": s.available}
                    for s in reply.short
                ]
            },
        )

    async def _charge_as_held(self, order: Order, reply: ReservationReply) -> None:
        """The order charges the prices the catalogue held its copies at, where they differ
        from checkout's copy: that follows the catalogue's events, which an import of
        thousands of books can put minutes behind, while the reader saw the catalogue's."""
        held = {price.isbn13: price.price_pence for price in reply.prices}
        if all(
            held.get(line.isbn13, line.unit_price_pence) == line.unit_price_pence
            for line in order.lines
        ):
            return
        log.info("order %s: charged at the catalogue's prices as held: %s", order.reference, held)
        postage, vat = self._settings.postage_table, self._settings.postage_vat_percent
        async with self._uow() as uow:
            stored = await get_for_update(uow.session, order.reference)
            reprice(stored, held, postage=postage, postage_vat_percent=vat)
        # the caller's copy goes on to the payment session and the response
        reprice(order, held, postage=postage, postage_vat_percent=vat)

    def _reserved(self, order: Order, reply: ReservationReply) -> None:
        for key, value in self._hold_values(order, reply).items():
            setattr(order, key, value)
        move(order, OrderStatus.RESERVED, at=self._now())

    @staticmethod
    def _hold_values(order: Order, reply: ReservationReply) -> dict[str, object]:
        """The catalogue may hold the copies for less than asked; the order says the truth."""
        if reply.expires_at is not None and order.hold_until is not None:
            return {"hold_until": min(order.hold_until, reply.expires_at)}
        return {}

    def _session_request(
        self, order: Order, *, expires_at: datetime | None = None
    ) -> SessionRequest:
        public = self._settings.public_url.rstrip("/")
        now = self._now()
        if expires_at is None:
            expires_at = now + timedelta(minutes=self._settings.web_session_minutes, seconds=30)
        if order.hold_until is not None and expires_at >= order.hold_until:
            raise Conflict(
                f"Order {order.reference}'s hold on its copies ends too soon for a payment "
                "session; cancel it and take the order again."
            )
        lines = [
            SessionLine(
                name=line.title[:250],
                unit_amount_pence=line.unit_price_pence,
                quantity=line.quantity,
            )
            for line in order.lines
        ]
        if order.postage_pence:
            lines.append(
                SessionLine(
                    name=f"UK postage (includes VAT {format_pence(order.postage_vat_pence)})",
                    unit_amount_pence=order.postage_pence,
                    quantity=1,
                )
            )
        attempt = order.sessions_created + 1
        key = f"order-{order.id}-session" if attempt == 1 else f"order-{order.id}-session-{attempt}"
        return SessionRequest(
            idempotency_key=key,
            lines=tuple(lines),
            expires_at=int(expires_at.timestamp()),
            success_url=f"{public}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{public}/checkout/cancel?order_id={order.id}",
            metadata={"order_id": str(order.id), "reference": order.reference},
            client_reference_id=order.reference,
            customer_email=order.customer_email,
            # A web order's address is asked for on Stripe's page; a phone order has its own.
            shipping_countries=(
                POSTAGE_COUNTRIES if order.delivery == Delivery.POST and not order.address else ()
            ),
        )

    def _attach_session(
        self, order: Order, session: CheckoutSession, method: PaymentMethod
    ) -> None:
        for key, value in self._session_values(order, session, method).items():
            setattr(order, key, value)
        move(order, OrderStatus.AWAITING_PAYMENT, at=self._now(), note=f"Stripe {session.id}")

    @staticmethod
    def _session_values(
        order: Order, session: CheckoutSession, method: PaymentMethod
    ) -> dict[str, object]:
        return {
            "stripe_session_id": session.id,
            "stripe_session_url": session.url,
            "stripe_session_expires_at": datetime.fromtimestamp(session.expires_at, UTC),
            "sessions_created": order.sessions_created + 1,
            "payment_method": method.value,
        }

    # --- phone orders: payment ----------------------------------------------------------------

    async def send_payment_link(self, reference: str) -> Order:
        """A Checkout Session (up to 24 hours) for a phone order, emailed to the customer.

        Also the new link for an order whose earlier one expired while its copies are still
        held (it is reserved again): the session count gives the new session its own
        idempotency key."""
        order = await self.get(reference)
        if order.status == OrderStatus.AWAITING_PAYMENT and order.stripe_session_url:
            return order
        if order.status != OrderStatus.RESERVED:
            raise Conflict(
                f"Order {order.reference} is {_status_said(order)}; it cannot be sent a link."
            )
        if not order.customer_email:
            raise InvalidInput(
                f"Order {order.reference} has no email address to send a payment link to; "
                "cancel it and take the order again with the customer's email address."
            )
        assert order.hold_until is not None
        expires_at = domain.payment_link_expiry(
            hold_until=order.hold_until,
            now=self._now(),
            margin=timedelta(minutes=self._settings.reservation_margin_minutes),
        )
        if expires_at is None:
            raise Conflict(
                f"Order {order.reference}'s hold ends in under 30 minutes, too soon for a "
                "payment link; cancel it and take the order again."
            )
        session = await self._payments.create_session(
            self._session_request(order, expires_at=expires_at)
        )
        async with self._uow() as uow:
            order = await get_for_update(uow.session, order.reference)
            if order.status != OrderStatus.RESERVED:
                return order
            self._attach_session(order, session, PaymentMethod.PAYMENT_LINK)
            queue_email(
                uow.session,
                order,
                emails.payment_link(
                    order,
                    url=session.url or "",
                    expires_at=datetime.fromtimestamp(session.expires_at, UTC),
                    postage_vat_percent=self._settings.postage_vat_percent,
                ),
            )
        return order

    async def pay_on_collection(self, reference: str) -> Order:
        """The customer pays at the counter: chosen for a reserved collection order, or instead
        of its payment link while the link is still open."""
        withdrawn = await self._withdraw_payment_link(await self.get(reference))
        async with self._uow() as uow:
            order = await get_for_update(uow.session, reference)
            if order.delivery != Delivery.COLLECTION:
                raise Conflict(
                    f"Order {order.reference} is to be posted; only collected orders are paid "
                    "on collection."
                )
            if order.payment_method == PaymentMethod.ON_COLLECTION:
                return order
            now = self._now()
            if (
                withdrawn is not None
                and order.status == OrderStatus.AWAITING_PAYMENT
                and order.stripe_session_id == withdrawn
            ):
                move(order, OrderStatus.RESERVED, at=now, note="payment link ended at Stripe")
            if order.status != OrderStatus.RESERVED:
                raise Conflict(f"Order {order.reference} is {order.status}; it cannot change now.")
            order.payment_method = PaymentMethod.ON_COLLECTION.value
            # The counter takes the money: a link left on the order would still be shown, and
            # would stop "send payment link" from being refused.
            order.stripe_session_url = None
            move(order, OrderStatus.AWAITING_PAYMENT, at=now, note="pay on collection")
        return order

    async def _withdraw_payment_link(self, order: Order) -> str | None:
        """End a collection order's open payment link at Stripe before the order changes, so
        the customer cannot pay by it as well as at the counter; the id of the session ended,
        None if the order has no link waiting. Stripe answers a session the customer has just
        completed as complete: that payment stands, and its webhook marks the order."""
        if not (
            order.delivery == Delivery.COLLECTION
            and order.status == OrderStatus.AWAITING_PAYMENT
            and order.payment_method == PaymentMethod.PAYMENT_LINK
            and order.stripe_session_id
        ):
            return None
        session = await self._payments.expire_session(order.stripe_session_id)
        if session.status == "complete":
            paid = (
                "the customer has just paid by the link"
                if session.payment_status == "paid"
                else "the customer has just paid by the link with a bank transfer, which is "
                "still on its way"
            )
            raise Conflict(
                f"Order {order.reference} was not changed to pay on collection: {paid}. "
                "The payment will show on the order when Stripe confirms it."
            )
        return session.id

    # --- after payment ----------------------------------------------------------------------

    async def fulfil(self, reference: str, *, how: str, by: str | None = None) -> Order:
        """Dispatched (posted) or collected; a pay-on-collection order is paid at the counter.

        `by` (the staff member) is written in the order's history."""
        async with self._uow() as uow:
            order = await get_for_update(uow.session, reference)
            expected = "collected" if order.delivery == Delivery.COLLECTION else "dispatched"
            if how != expected:
                raise Conflict(f"Order {order.reference} is to be {expected}, not {how}.")
            if order.status == OrderStatus.FULFILLED:
                return order
            now = self._now()
            paid_at_counter = (
                order.status == OrderStatus.AWAITING_PAYMENT
                and order.payment_method == PaymentMethod.ON_COLLECTION
            )
            if paid_at_counter:
                # Money taken in the shop, not through Stripe: staff record it as they hand over.
                move(order, OrderStatus.PAID, at=now, note="paid at the counter on collection")
                order.paid_at = now
                await uow.publish(CommitReservation(order_id=order.reservation_id))
                await order_paid_event(uow, order)
            move(order, OrderStatus.FULFILLED, at=now, note=f"{how} by {by}" if by else how)
            order.fulfilled_as = how
            await close_sale(uow, order)
            if order.customer_email:
                queue_email(
                    uow.session,
                    order,
                    emails.counter_receipt(
                        order, postage_vat_percent=self._settings.postage_vat_percent
                    )
                    if paid_at_counter
                    else emails.dispatch_notice(
                        order, refunded=await copies_refunded(uow.session, order)
                    ),
                )
        return order

    async def refund(
        self,
        reference: str,
        *,
        reason: str,
        amount_pence: int | None = None,
        lines: Sequence[tuple[str, int]] | None = None,
        everything: bool = False,
        restock: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        """A full or partial refund, by amount or by lines (`refunds.plan_refund`'s rules);
        `everything` refunds whatever is left. An order paid by card is refunded through
        Stripe, counting dashboard refunds whose webhook has not come yet; one paid at the
        counter was refunded there, and is recorded the same way without Stripe.

        `restock`: whether the refunded copies go back on the shelf; None for the rule (yes
        before dispatch, no after). `idempotency_key`: the form's, so that its second submit
        finds the refund the first made."""
        asked = RefundAsked(
            amount_pence=amount_pence,
            copies=None if lines is None else _copies_wanted(lines),
            everything=everything,
            restock=restock,
        )
        # planned against every refund recorded before it: one at a time
        async with refund_turn(self._db, reference, self._now):
            async with self._db.reading() as session:
                order = await get_by_reference(session, reference)
                if await refund_asked_before(session, idempotency_key):
                    return order
                plan = plan_refund(order, await copies_refunded(session, order), asked)
            made = (
                await self._refund_through_stripe(order, plan.amount_pence)
                if plan.route is RefundRoute.STRIPE
                else None
            )
            return await self._record_refund(
                order.reference, plan, made, reason=reason, idempotency_key=idempotency_key
            )

    async def _record_refund(
        self,
        reference: str,
        plan: RefundPlan,
        made: RefundMade | None,
        *,
        reason: str,
        idempotency_key: str | None,
    ) -> Order:
        """Record the refund `plan` planned, as `made` (None: money handed back at the
        counter), with what follows it: copies back on the shelf, the event, the email."""
        async with self._uow() as uow:
            order = await get_for_update(uow.session, reference)
            if await refund_asked_before(uow.session, idempotency_key):
                return order
            if made is None:
                made = handed_back(order, plan.amount_for(order))
            before = order.refunded_pence
            recorded = await record_refund(
                uow.session,
                order,
                made,
                reason=reason,
                at=self._now(),
                copies=plan.copies,
                restocked=plan.restocked,
                idempotency_key=idempotency_key,
            )
            if recorded is not None:
                await return_to_stock(uow, order, recorded)
                await self._after_refund(
                    uow,
                    order,
                    before=before,
                    refund=recorded,
                    amount_pence=made.amount_pence,
                    reason=reason,
                    route=plan.route,
                )
        return order

    async def _refund_through_stripe(self, order: Order, amount_pence: int | None) -> RefundMade:
        """`amount_pence` None: whatever Stripe has left to refund on the payment."""
        assert order.stripe_payment_intent is not None
        asked = "rest" if amount_pence is None else amount_pence
        # The same request retried (a double click) carries the same key: one refund.
        return await self._payments.refund(
            payment_intent=order.stripe_payment_intent,
            amount_pence=amount_pence,
            idempotency_key=f"order-{order.id}-refund-{order.refunded_pence}-{asked}",
            order_id=str(order.id),
        )

    async def _after_refund(
        self,
        uow: UnitOfWork,
        order: Order,
        *,
        before: int,
        refund: Refund,
        amount_pence: int,
        reason: str,
        route: RefundRoute,
    ) -> None:
        await end_if_refunded(uow, order, at=self._now(), note=reason)
        # Less than this refund if its charge.refunded came first; more if it brought news of
        # a dashboard refund.
        await order_refunded_event(uow, order, before=before, refund=refund)
        if order.customer_email:
            queue_email(
                uow.session,
                order,
                emails.refund_notice(
                    order,
                    amount_pence=amount_pence,
                    reason=reason,
                    at_counter=route is RefundRoute.COUNTER,
                ),
            )

    async def cancel(self, reference: str, *, note: str) -> Order:
        """Staff cancel an order that is not paid: the copies go back."""
        async with self._uow() as uow:
            order = await get_for_update(uow.session, reference)
            if order.status == OrderStatus.CANCELLED:
                return order
            move(order, OrderStatus.CANCELLED, at=self._now(), note=note)
            await release(uow, order, f"cancelled: {note}")
            if order.customer_email:
                # Sent a payment link, or told the books wait at the counter, the customer
                # would otherwise find out only when the link refused them.
                queue_email(uow.session, order, emails.cancelled_by_shop(order))
        if order.stripe_session_id:
            await self._payments.expire_session(order.stripe_session_id)
        return order

    async def reader_left_checkout(self, order_id: UUID) -> Order | None:
        """The reader came back from Stripe without paying: free the copies, end the session.

        The order closes first; if the reader paid meanwhile after all, that payment arrives
        as a late one and holds the copies again (or is refunded).
        """
        async with self._uow() as uow:
            order = await load_for_update(uow.session, id=order_id)
            if order is None or order.status != OrderStatus.AWAITING_PAYMENT:
                return order
            move(order, OrderStatus.CANCELLED, at=self._now(), note="reader left the checkout")
            await release(uow, order, "reader left the checkout")
        if order.stripe_session_id:
            try:
                await self._payments.expire_session(order.stripe_session_id)
            except TemporarilyUnavailable as error:
                log.warning("order %s: session left open: %s", order.reference, error)
        return order

    # --- the clock's work ---------------------------------------------------------------------

    async def expire_lapsed(self) -> int:
        """Close orders whose hold has ended; expire their Stripe session first if still open."""
        now = self._now()
        async with self._db.reading() as session:
            lapsed = list(
                await session.scalars(
                    select(Order.id).where(
                        Order.status.in_(
                            [
                                OrderStatus.PENDING.value,
                                OrderStatus.RESERVED.value,
                                OrderStatus.AWAITING_PAYMENT.value,
                            ]
                        ),
                        Order.hold_until < now,
                        # A payment under way (a bank transfer) is awaited past the hold.
                        Order.stripe_payment_intent.is_(None),
                    )
                )
            )
        closed = 0
        for order_id in lapsed:
            try:
                closed += await self._expire_one(order_id)
            except TemporarilyUnavailable as error:
                log.warning("order %s not expired yet: %s", order_id, error)
        return closed

    async def resend_unconfirmed_commits(self) -> int:
        """Commits the catalogue has not confirmed, sent again (see stock_commits)."""
        return await stock_commits.resend_unconfirmed(
            self._uow,
            now=self._now(),
            after=timedelta(seconds=self._settings.commit_resend_after_seconds),
        )

    async def _expire_one(self, order_id: UUID) -> int:
        async with self._db.reading() as session:
            order = await session.get(Order, order_id)
        ended_session = False
        if order is not None and order.stripe_session_id:
            stripe_session = await self._payments.expire_session(order.stripe_session_id)
            if stripe_session.status == "complete":
                # Paid at the last moment: the webhook decides, not the clock.
                return 0
            ended_session = True
        async with self._uow() as uow:
            order = await load_for_update(uow.session, id=order_id)
            if order is None or order.stripe_payment_intent:
                return 0
            if order.status not in {
                OrderStatus.PENDING,
                OrderStatus.RESERVED,
                OrderStatus.AWAITING_PAYMENT,
            }:
                # The session's expired event got here first and closed the order.
                return int(ended_session)
            target = (
                OrderStatus.CANCELLED
                if order.status == OrderStatus.PENDING
                else OrderStatus.EXPIRED
            )
            move(order, target, at=self._now(), note="the hold on the copies ended")
            await release(uow, order, "the hold ended before payment")
        return 1

    # --- reading ------------------------------------------------------------------------------

    async def get(self, reference: str) -> Order:
        async with self._db.reading() as session:
            return await get_by_reference(session, reference)

    async def find_for_reader(self, *, reference: str, email: str) -> FoundOrder:
        """The order only for the right reference with its email address or, for a customer
        who gave the phone-order staff only a number, its phone number; one answer for any
        mismatch."""
        async with self._db.reading() as session:
            order = await session.scalar(
                select(Order).where(Order.reference == domain.normalise_reference(reference))
            )
            if order is None or not (
                (
                    order.customer_email
                    and order.customer_email.strip().lower() == email.strip().lower()
                )
                or (order.customer_phone and domain.same_phone(email, order.customer_phone))
            ):
                raise NotFound("No order matches that reference and email address or phone number.")
            return FoundOrder(order=order, now=await after_refunds(session, order))

    async def by_session(self, session_id: str) -> FoundOrder:
        async with self._db.reading() as session:
            order = await session.scalar(select(Order).where(Order.stripe_session_id == session_id))
            if order is None:
                raise NotFound("We have no order for that payment session.")
            return FoundOrder(order=order, now=await after_refunds(session, order))

    async def by_id(self, order_id: UUID) -> Order | None:
        async with self._db.reading() as session:
            return await session.get(Order, order_id)

    async def _by_idempotency_key(self, key: str) -> Order | None:
        async with self._db.reading() as session:
            return await session.scalar(select(Order).where(Order.idempotency_key == key))

    # --- the staff desk's writes -------------------------------------------------------------

    async def record_fulfilment_step(
        self, reference: str, *, step: FulfilmentStage, by: str
    ) -> Order:
        """Picking started, or packed: written in the order's history; a collection order packed
        emails the customer that it is ready to collect. Repeating a step, or recording one the
        order has passed, changes nothing."""
        if step not in FULFILMENT_STEPS:
            raise InvalidInput("A fulfilment step is picking or packed.")
        async with self._uow() as uow:
            order = await get_for_update(uow.session, reference)
            stage = fulfilment_stage(order)
            if stage is None:
                raise Conflict(
                    f"Order {order.reference} is {order.status.replace('_', ' ')}: only paid "
                    "orders, and orders to be paid on collection, are picked and packed."
                )
            order_of = [FulfilmentStage.TO_PICK, *FULFILMENT_STEPS, FulfilmentStage.DONE]
            if order_of.index(stage) >= order_of.index(step):
                return order
            order.history.append(StatusChange(status=step.value, at=self._now(), note=f"by {by}"))
            ready = step is FulfilmentStage.PACKED and order.delivery == Delivery.COLLECTION
            if ready and order.customer_email:
                queue_email(uow.session, order, emails.ready_to_collect(order))
        return order

    async def resend_email(self, reference: str, *, email_id: int) -> Email:
        """The same email again, to the same address, queued to be delivered after commit."""
        async with self._uow() as uow:
            order = await get_for_update(uow.session, reference)
            original = await uow.session.get(Email, email_id)
            if original is None or original.order_id != order.id:
                raise NotFound(f"Order {order.reference} has no email {email_id}.")
            if original.kind == "payment_link" and not _has_live_link(order, original):
                advice = (
                    "; send a new payment link instead"
                    if order.status == OrderStatus.RESERVED
                    else ""
                )
                raise Conflict(
                    f"Order {order.reference} is {order.status.replace('_', ' ')}: this email's "
                    f"payment link no longer works, so it was not sent again{advice}."
                )
            queue_email(
                uow.session,
                order,
                emails.EmailMessage(
                    kind=original.kind,
                    to_address=original.to_address,
                    subject=original.subject,
                    body=original.body,
                ),
            )
        return original


def _copies_wanted(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Copies wanted back by ISBN-13, however the ISBNs were written; a book named twice is
    asked for once, with both counts, so it cannot slip past its line's limit."""
    wanted: dict[str, int] = {}
    for isbn, quantity in lines:
        isbn13 = to_isbn13(isbn)
        wanted[isbn13] = wanted.get(isbn13, 0) + quantity
    return wanted


def _status_said(order: Order) -> str:
    """The order's status as staff say it."""
    if transfer_under_way(order):
        return "being paid by a bank transfer on its way"
    if order.payment_method == PaymentMethod.ON_COLLECTION and order.status in domain.HOLDING:
        return "to be paid on collection"
    return order.status.replace("_", " ")


def _has_live_link(order: Order, email: Email) -> bool:
    """Whether a payment-link email carries the order's open link. Once the order is paid,
    closed, reserved again or to be paid at the counter, has a newer link, or its link was used
    to start a bank transfer, the email's link only sends the customer to a page that refuses
    to take their money."""
    return (
        order.status == OrderStatus.AWAITING_PAYMENT
        and order.payment_method == PaymentMethod.PAYMENT_LINK
        and not transfer_under_way(order)
        and order.stripe_session_url is not None
        and order.stripe_session_url in email.body.split()
    )
