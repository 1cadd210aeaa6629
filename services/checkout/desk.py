"""The staff desk's reads: books and customers found as a phone clerk types, a basket
priced before it is placed, the fulfilment queue and one order's whole story."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, or_, select

from services.checkout import domain
from services.checkout.domain import Delivery, OrderStatus, PricedLine
from services.checkout.fulfilment import FulfilmentStage, fulfilment_stage, in_fulfilment_clause
from services.checkout.models import Book, Email, Order, OrderLine, Refund
from services.checkout.orders import after_refunds, get_by_reference
from services.checkout.service import WantedLine
from services.checkout.settings import CheckoutSettings
from shared.db import Database
from shared.errors import InvalidInput
from shared.isbn import InvalidISBN, to_isbn13
from shared.money import format_pence

# Orders the fulfilment queue looks through at once; a small shop's open orders fit easily.
QUEUE_LIMIT = 200


class OrderView(StrEnum):
    """The orders page's tabs."""

    TO_PICK = "to_pick"
    PICKING = "picking"
    PACKED = "packed"
    DONE = "done"
    AWAITING_PAYMENT = "awaiting_payment"
    NEEDS_ATTENTION = "needs_attention"
    ALL = "all"


@dataclass(frozen=True)
class QuotedLine:
    isbn13: str
    title: str
    unit_price_pence: int
    quantity: int
    available: int
    problem: str | None = None
    # The quantity typed is not one the order can take (blank, 0, too many): the line is
    # priced as one copy only so that the basket can be drawn, and no total is shown.
    quantity_refused: bool = False

    @property
    def line_total_pence(self) -> int:
        return self.unit_price_pence * self.quantity


@dataclass(frozen=True)
class Quote:
    """A basket priced as the phone clerk builds it; `problems` must be empty to place it."""

    lines: tuple[QuotedLine, ...]
    totals: domain.Totals
    problems: tuple[str, ...]

    @property
    def priced(self) -> bool:
        """Whether the totals are the order's: not while a quantity is refused."""
        return not any(line.quantity_refused for line in self.lines)


@dataclass(frozen=True)
class KnownCustomer:
    """A customer as they gave their details on their latest order."""

    name: str
    email: str
    phone: str | None
    address: tuple[str, ...] | None
    last_order: str


@dataclass(frozen=True)
class HistoryEntry:
    """A line of the order's history: a status or fulfilment step, or a refund."""

    what: str
    at: datetime
    note: str | None


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    stage: FulfilmentStage | None
    # Status changes and refunds together, oldest first.
    history: tuple[HistoryEntry, ...]
    # Each line's copies bought and refunded, and the money refunded and still paid.
    now: domain.OrderAfterRefunds
    emails: tuple[Email, ...]


class StaffDesk:
    def __init__(self, *, db: Database, settings: CheckoutSettings) -> None:
        self._db = db
        self._settings = settings

    async def search_books(self, query: str, *, limit: int = 8) -> list[Book]:
        """Books for sale whose title has words starting with each typed word, or whose ISBN
        starts with the typed digits (ISBN-10 or -13, with or without dashes); in stock first."""
        text = query.strip().lower()
        if not text:
            return []
        compact = re.sub(r"[\s-]", "", text)
        condition: ColumnElement[bool]
        if re.fullmatch(r"\d{9}[\dx]|\d{13}", compact):
            try:
                condition = Book.isbn13 == to_isbn13(compact)
            except InvalidISBN:
                return []
        elif compact.isdigit():
            if len(compact) < 3:
                return []
            condition = Book.isbn13.like(f"{compact}%")
        else:
            title = func.lower(Book.title)
            condition = and_(
                *(
                    or_(
                        title.like(f"{_like(word)}%", escape="\\"),
                        title.like(f"% {_like(word)}%", escape="\\"),
                    )
                    for word in text.split()[:6]
                )
            )
        async with self._db.reading() as session:
            return list(
                await session.scalars(
                    select(Book)
                    .where(condition, Book.withdrawn.is_(False))
                    .order_by(
                        # The words as typed, together, before titles that merely have them.
                        func.lower(Book.title).like(f"%{_like(text)}%", escape="\\").desc(),
                        (Book.available > 0).desc(),
                        func.length(Book.title),
                        Book.title,
                        Book.isbn13,
                    )
                    .limit(limit)
                )
            )

    async def quote(self, *, lines: Sequence[WantedLine], delivery: Delivery) -> Quote:
        """The phone basket priced from checkout's copy of the catalogue, with each line's
        availability and anything that would stop the order; never raises for a bad line."""
        wanted: dict[str, int | str] = {}
        problems: list[str] = []
        for line in lines:
            try:
                isbn13 = to_isbn13(line.isbn)
            except InvalidISBN as error:
                problems.append(str(error))
                continue
            try:
                quantity: int | str = domain.parse_quantity(
                    line.quantity, maximum=self._settings.max_quantity_per_line
                )
            except InvalidInput as error:
                quantity = error.message
            before = wanted.get(isbn13, 0)
            wanted[isbn13] = (
                before + quantity
                if isinstance(before, int) and isinstance(quantity, int)
                else quantity
            )
        async with self._db.reading() as session:
            books = {
                book.isbn13: book
                for book in await session.scalars(select(Book).where(Book.isbn13.in_(list(wanted))))
            }
        quoted: list[QuotedLine] = []
        for isbn13, quantity in wanted.items():
            book = books.get(isbn13)
            if book is None:
                problems.append(f"We do not sell a book with ISBN {isbn13}.")
                continue
            problem = self._line_problem(book, quantity)
            if problem:
                problems.append(problem)
            quoted.append(
                QuotedLine(
                    isbn13=isbn13,
                    title=book.title,
                    unit_price_pence=book.price_pence,
                    quantity=quantity if isinstance(quantity, int) else 1,
                    available=book.available,
                    problem=problem,
                    quantity_refused=isinstance(quantity, str),
                )
            )
        priced = [
            PricedLine(line.isbn13, line.title, line.unit_price_pence, line.quantity)
            for line in quoted
        ]
        totals = domain.totals_for(
            priced,
            delivery=delivery,
            postage=self._settings.postage_table,
            postage_vat_percent=self._settings.postage_vat_percent,
        )
        return Quote(lines=tuple(quoted), totals=totals, problems=tuple(problems))

    def _line_problem(self, book: Book, quantity: int | str) -> str | None:
        if isinstance(quantity, str):
            return f"'{book.title}': {quantity}"
        if book.withdrawn:
            return f"'{book.title}' is no longer for sale."
        if quantity > self._settings.max_quantity_per_line:
            return f"At most {self._settings.max_quantity_per_line} copies of '{book.title}'."
        if quantity > book.available:
            # The catalogue's reserve decides; this is the last count we were told of.
            return f"Only {book.available} left of '{book.title}'."
        return None

    async def find_customers(self, query: str, *, limit: int = 6) -> list[KnownCustomer]:
        """Customers of past orders whose phone number contains the typed digits, or whose email
        or name starts with the typed text; the latest details of each, most recent first."""
        text = query.strip().lower()
        digits = "".join(ch for ch in text if ch.isdigit())
        conditions: list[ColumnElement[bool]] = []
        if any(ch.isalpha() for ch in text) or "@" in text:
            if len(text) >= 2:
                conditions.append(
                    func.lower(Order.customer_email).like(f"{_like(text)}%", escape="\\")
                )
                conditions.append(
                    or_(
                        func.lower(Order.customer_name).like(f"{_like(text)}%", escape="\\"),
                        func.lower(Order.customer_name).like(f"% {_like(text)}%", escape="\\"),
                    )
                )
        elif len(digits) >= 4:
            conditions.append(_phone_digits().like(f"%{_national(digits)}%"))
        if not conditions:
            return []
        async with self._db.reading() as session:
            orders = await session.scalars(
                select(Order)
                .where(or_(*conditions), Order.customer_name.is_not(None))
                .order_by(Order.created_at.desc())
                .limit(limit * 10)
            )
            found: dict[tuple[str, str], KnownCustomer] = {}
            for order in orders:
                key = (
                    (order.customer_email or "").lower(),
                    _national("".join(ch for ch in order.customer_phone or "" if ch.isdigit())),
                )
                if key in found:
                    continue
                found[key] = KnownCustomer(
                    name=order.customer_name or "",
                    email=order.customer_email or "",
                    phone=order.customer_phone,
                    address=tuple(order.address) if order.address else None,
                    last_order=order.reference,
                )
                if len(found) == limit:
                    break
        return list(found.values())

    async def fulfilment_queue(
        self, *, view: OrderView, search: str = "", limit: int = 50
    ) -> list[Order]:
        """The orders page: one tab's orders (the queue oldest first, the rest newest first),
        narrowed by a reference, a customer's name, email or phone, or an ISBN."""
        query = select(Order)
        queue_views = {OrderView.TO_PICK, OrderView.PICKING, OrderView.PACKED}
        if view in queue_views:
            query = query.where(in_fulfilment_clause()).order_by(Order.created_at)
        else:
            statuses = {
                OrderView.DONE: [OrderStatus.FULFILLED],
                OrderView.AWAITING_PAYMENT: [OrderStatus.RESERVED, OrderStatus.AWAITING_PAYMENT],
                OrderView.NEEDS_ATTENTION: [OrderStatus.NEEDS_ATTENTION],
            }.get(view)
            if statuses is not None:
                query = query.where(Order.status.in_([status.value for status in statuses]))
            if view is OrderView.AWAITING_PAYMENT:
                query = query.where(~in_fulfilment_clause())
            query = query.order_by(Order.updated_at.desc(), Order.created_at.desc())
        if search.strip():
            query = query.where(_search_clause(search))
        async with self._db.reading() as session:
            orders = list(
                await session.scalars(query.limit(QUEUE_LIMIT if view in queue_views else limit))
            )
        if view in queue_views:
            orders = [o for o in orders if fulfilment_stage(o) == FulfilmentStage(view.value)]
        return orders[:limit]

    async def queue_counts(self) -> dict[OrderView, int]:
        """How many orders wait at each step of the queue, and need payment or attention."""
        counts = dict.fromkeys(OrderView, 0)
        async with self._db.reading() as session:
            active = await session.scalars(
                select(Order).where(in_fulfilment_clause()).limit(QUEUE_LIMIT)
            )
            for order in active:
                stage = fulfilment_stage(order)
                if stage is not None:
                    counts[OrderView(stage.value)] += 1
            by_status = await session.execute(
                select(Order.status, func.count())
                .where(
                    Order.status.in_(
                        [
                            OrderStatus.RESERVED.value,
                            OrderStatus.AWAITING_PAYMENT.value,
                            OrderStatus.NEEDS_ATTENTION.value,
                        ]
                    ),
                    ~in_fulfilment_clause(),
                )
                .group_by(Order.status)
            )
            for status, count in by_status:
                view = (
                    OrderView.NEEDS_ATTENTION
                    if status == OrderStatus.NEEDS_ATTENTION
                    else OrderView.AWAITING_PAYMENT
                )
                counts[view] += int(count)
        return counts

    async def detail(self, reference: str) -> OrderDetail:
        """An order with its place in the queue, its refunds and the emails written for it."""
        async with self._db.reading() as session:
            order = await get_by_reference(session, reference)
            refunds = await session.scalars(
                select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)
            )
            sent = await session.scalars(
                select(Email).where(Email.order_id == order.id).order_by(Email.id)
            )
            return OrderDetail(
                order=order,
                stage=fulfilment_stage(order),
                history=_history(order, refunds),
                now=await after_refunds(session, order),
                emails=tuple(sent),
            )


def _history(order: Order, refunds: Iterable[Refund]) -> tuple[HistoryEntry, ...]:
    """The order's status changes and its refunds in one story, by time; a refund comes before
    a status change of the same instant, which it caused (a full refund ending the order)."""
    titles = {line.isbn13: line.title for line in order.lines}
    entries = [
        (change.at, 1, HistoryEntry(change.status.replace("_", " "), change.at, change.note))
        for change in order.history
    ]
    for refund in refunds:
        copies = "; ".join(
            f"{line.quantity} × {titles.get(line.isbn13, line.isbn13)}" for line in refund.lines
        )
        if copies and refund.restocked:
            copies += "; back on the shelf"
        note = f"{refund.reason} ({copies})" if copies else refund.reason
        # Every refund but those handed back at the counter went through Stripe.
        where = "" if refund.stripe_refund_id else " at the counter"
        entries.append(
            (
                refund.created_at,
                0,
                HistoryEntry(
                    f"refund {format_pence(refund.amount_pence)}{where}", refund.created_at, note
                ),
            )
        )
    # sorted() is stable: entries of one kind at the same time keep the order they were made.
    return tuple(entry for _, _, entry in sorted(entries, key=lambda e: (e[0], e[1])))


def _like(text: str) -> str:
    """Typed text as a literal inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _phone_digits() -> ColumnElement[str]:
    """The order's phone number without the separators people type (SQLite and Postgres)."""
    expression: ColumnElement[str] = func.coalesce(Order.customer_phone, "")
    for separator in (" ", "-", "(", ")", "+", "."):
        expression = func.replace(expression, separator, "")
    return expression


def _national(digits: str) -> str:
    """UK digits without the country code or trunk zero: 44 20 7946 and 020 7946 both match."""
    if digits.startswith("44") and len(digits) > 6:
        digits = digits[2:]
    return digits.lstrip("0")


def _search_clause(search: str) -> ColumnElement[bool]:
    """An order's reference, an ISBN on it, or its customer's name, email or phone."""
    text = search.strip().lower()
    conditions: list[ColumnElement[bool]] = [Order.reference == domain.normalise_reference(search)]
    compact = re.sub(r"[\s-]", "", text)
    try:
        isbn13 = to_isbn13(compact)
    except InvalidISBN:
        pass
    else:
        conditions.append(
            Order.id.in_(select(OrderLine.order_id).where(OrderLine.isbn13 == isbn13))
        )
    if any(ch.isalpha() for ch in text):
        conditions.append(func.lower(Order.customer_email).like(f"%{_like(text)}%", escape="\\"))
        conditions.append(func.lower(Order.customer_name).like(f"%{_like(text)}%", escape="\\"))
    digits = "".join(ch for ch in text if ch.isdigit())
    # Only digits and the separators a number is written with: "+44 (0)20 7946 0000" too.
    if len(digits) >= 4 and re.fullmatch(r"[\d\s()+.-]+", text):
        conditions.append(_phone_digits().like(f"%{_national(digits)}%"))
    return or_(*conditions)
