"""The rules of an order: its life, its reference, its postage, its totals, the customer's phone
number and how long a payment link lives. No I/O here."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from shared.contracts.recommendation import ARTICLE_ID
from shared.errors import Conflict, InvalidInput
from shared.money import NotPounds, format_pence, pounds_to_pence, vat_included

# Letters and digits that cannot be mistaken for each other when read out on the phone
# (no B/8, I/1, O/0, S/5, Z/2, L, N/M confusion in the pairs that matter).
REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
REFERENCE_LENGTH = 8
BOOKS_VAT_PERCENT = 0
# An email address as people write one. Brackets, commas, colons, semicolons and quotes are
# refused: in a To header they make several addresses, a group or a comment, or an address
# the email package cannot parse at all, so the email would go astray or never go.
EMAIL_ADDRESS = r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+"
# A phone number as people write one, UK or international: an optional leading +, then digits
# with the spaces, brackets, dashes and dots they group them by.
PHONE_NUMBER = re.compile(r"\+?[\d\s().-]+")
# The shortest UK number (area code and subscriber, with its trunk 0) has 10 digits; E.164
# allows 15 with the country code.
PHONE_DIGITS = range(10, 16)
# Stripe keeps a Checkout Session open for 30 minutes to 24 hours from its creation, by its own
# clock: the minimum here leaves room for skew and latency.
STRIPE_MAX_EXPIRY = timedelta(hours=24)
STRIPE_MIN_EXPIRY = timedelta(minutes=30, seconds=30)
# The history note of an order cancelled because its bank transfer failed: the reader's pages
# tell it apart from one cancelled by staff or by the reader.
PAYMENT_FAILED = "payment failed"


class OrderStatus(StrEnum):
    PENDING = "pending"
    RESERVED = "reserved"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    NEEDS_ATTENTION = "needs_attention"


class Channel(StrEnum):
    WEB = "web"
    PHONE = "phone"


class Delivery(StrEnum):
    POST = "post"
    COLLECTION = "collection"


class PaymentMethod(StrEnum):
    STRIPE_CHECKOUT = "stripe_checkout"
    PAYMENT_LINK = "payment_link"
    ON_COLLECTION = "on_collection"


S = OrderStatus
# The order's life (DESIGN.md). A payment link that expires while the copies are still held
# (a collection order is held for days, a link lives a day at most) takes the order back to
# reserved, to be paid another way or by a new link. A partial refund leaves a paid or fulfilled
# order where it is, with its refunded_pence raised; only a refund of the whole total moves it
# to refunded (a book that arrives damaged, or comes back, is refunded after dispatch). A
# payment that arrives after the hold lapsed (expired) re-reserves: paid if the copies are still
# there, needs_attention (then refunded) if they are gone. A cancelled order that is paid anyway
# is treated the same way, never silently kept.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.RESERVED, S.REJECTED, S.CANCELLED}),
    S.RESERVED: frozenset({S.AWAITING_PAYMENT, S.EXPIRED, S.CANCELLED}),
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.RESERVED, S.EXPIRED, S.CANCELLED}),
    S.PAID: frozenset({S.FULFILLED, S.REFUNDED}),
    S.FULFILLED: frozenset({S.REFUNDED}),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset({S.PAID, S.NEEDS_ATTENTION}),
    S.CANCELLED: frozenset({S.PAID, S.NEEDS_ATTENTION}),
    S.NEEDS_ATTENTION: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}
# Statuses in which the catalogue holds copies for the order.
HOLDING = frozenset({S.RESERVED, S.AWAITING_PAYMENT})
# Statuses in which staff may refund the payment, in full or in part.
REFUNDABLE = frozenset({S.PAID, S.FULFILLED})
# Statuses from which a payment that arrives is a late one: re-reserve or refund.
LATE_PAYMENT_FROM = frozenset({S.EXPIRED, S.CANCELLED})


class IllegalTransition(Conflict):
    """An order was asked to move where its life does not go."""

    def __init__(self, current: OrderStatus, wanted: OrderStatus) -> None:
        super().__init__(f"An order that is {current.value} cannot become {wanted.value}.")
        self.current = current
        self.wanted = wanted


def article_id(given: str | None) -> str | None:
    """The article a Buy form says brought the reader, if it is one by the rule every service
    reads; any other text is dropped, not refused: the order matters more than its credit."""
    stripped = (given or "").strip()
    return stripped if ARTICLE_ID.fullmatch(stripped) else None


def check_transition(current: OrderStatus, wanted: OrderStatus) -> OrderStatus:
    """`wanted` if the order may go there from `current`; IllegalTransition otherwise."""
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)
    return wanted


def can_cancel(status: OrderStatus) -> bool:
    """Whether staff may still cancel the order: it is not paid and not closed yet."""
    return OrderStatus.CANCELLED in TRANSITIONS[status]


def new_reference(choose: Iterable[int] | None = None) -> str:
    """Eight characters a person can read out; `choose` gives indices (tests), else secrets."""
    if choose is None:
        return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return "".join(REFERENCE_ALPHABET[i % len(REFERENCE_ALPHABET)] for i in choose)[
        :REFERENCE_LENGTH
    ]


def normalise_reference(raw: str) -> str:
    """What staff or a reader typed, upper-cased, without spaces or dashes."""
    return "".join(ch for ch in raw.upper() if ch not in " -")


def check_phone(raw: str) -> None:
    """InvalidInput unless `raw` is a plausible UK or international phone number."""
    phone = raw.strip()
    digits = sum(ch.isdigit() for ch in phone)
    if not PHONE_NUMBER.fullmatch(phone) or digits not in PHONE_DIGITS:
        raise InvalidInput(
            f"'{phone}' does not look like a phone number: give 10 to 15 digits, such as "
            "07700 900123 or +44 20 7946 0958."
        )


def same_phone(given: str, stored: str) -> bool:
    """Whether two ways of writing a phone number are the same UK number or the same
    international one: "+44 161 496 0000" is "0161 496 0000"."""

    def national(raw: str) -> str:
        digits = "".join(ch for ch in raw if ch.isdigit())
        return "0" + digits[2:] if digits.startswith("44") and len(digits) == 12 else digits

    wanted = national(given)
    return len(wanted) in PHONE_DIGITS and wanted == national(stored)


def payment_link_expiry(
    *, hold_until: datetime, now: datetime, margin: timedelta
) -> datetime | None:
    """When a payment link made now should stop working: `margin` before the hold on the copies
    ends (so a payment in its last second finds them held), within Stripe's 24 hours; None if
    the hold ends too soon for Stripe's 30 minutes."""
    expires_at = min(hold_until - margin, now + STRIPE_MAX_EXPIRY - timedelta(minutes=1))
    return expires_at if expires_at >= now + STRIPE_MIN_EXPIRY else None


def parse_quantity(raw: object, *, maximum: int) -> int:
    """A whole number from 1 to `maximum`, from a form field or JSON; InvalidInput otherwise."""
    if isinstance(raw, bool):
        raise InvalidInput("Quantity must be a whole number.")
    if isinstance(raw, int):
        quantity = raw
    elif isinstance(raw, str) and raw.strip().isdigit():
        quantity = int(raw.strip())
    else:
        raise InvalidInput(f"Quantity must be a whole number from 1 to {maximum}.")
    if not 1 <= quantity <= maximum:
        raise InvalidInput(f"Quantity must be from 1 to {maximum}; {quantity} is not.")
    return quantity


def parse_pounds(raw: str) -> int:
    """Pence from an amount a person typed in pounds; InvalidInput otherwise."""
    try:
        return pounds_to_pence(raw)
    except NotPounds:
        raise InvalidInput(
            f"Give the amount in pounds and pence, such as 3.50, not {raw!r}."
        ) from None


# Where we post to: the postage table prices UK post only.
POSTAGE_COUNTRIES = ("GB",)
# A UK postcode's form (not that it exists), as Stripe's page checks a web order's; GIR 0AA is
# the one postcode outside the pattern.
UK_POSTCODE = re.compile(
    r"(?<![A-Z0-9])(?:[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}|GIR ?0AA)(?![A-Z0-9])",
    re.IGNORECASE,
)


def has_uk_postcode(address: Sequence[str]) -> bool:
    """Whether a line of the address has a UK postcode, alone or after the town."""
    return any(UK_POSTCODE.search(line) for line in address)


@dataclass(frozen=True)
class PostageTable:
    """Postage by number of books: each band starts at its count and runs to the next one's."""

    bands: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, text: str) -> PostageTable:
        """From "1:295,2:395,4:0" (books:pence, ascending)."""
        try:
            bands = tuple(
                (int(count), int(pence))
                for count, pence in (part.split(":") for part in text.split(",") if part.strip())
            )
        except ValueError as error:
            raise ValueError(f"Postage table {text!r} is not 'books:pence,...': {error}") from None
        counts = [count for count, _ in bands]
        if not counts or counts[0] != 1 or any(a >= b for a, b in pairwise(counts)):
            raise ValueError(f"Postage table {text!r} must start at 1 book and ascend.")
        if any(pence < 0 for _, pence in bands):
            raise ValueError(f"Postage table {text!r} has a negative price.")
        return cls(bands)

    def postage_pence(self, books: int, delivery: Delivery) -> int:
        if delivery is Delivery.COLLECTION or books == 0:
            return 0
        return next(pence for count, pence in reversed(self.bands) if books >= count)


@dataclass(frozen=True)
class PricedLine:
    isbn13: str
    title: str
    unit_price_pence: int
    quantity: int

    @property
    def line_total_pence(self) -> int:
        return self.unit_price_pence * self.quantity


@dataclass(frozen=True)
class Totals:
    """What a receipt shows: books (zero-rated) and postage (VAT included), in pence."""

    books_pence: int
    postage_pence: int
    postage_vat_pence: int

    @property
    def total_pence(self) -> int:
        return self.books_pence + self.postage_pence

    @property
    def vat_pence(self) -> int:
        return self.postage_vat_pence


def totals_for(
    lines: Sequence[PricedLine],
    *,
    delivery: Delivery,
    postage: PostageTable,
    postage_vat_percent: int,
) -> Totals:
    books = sum(line.line_total_pence for line in lines)
    postage_pence = postage.postage_pence(sum(line.quantity for line in lines), delivery)
    return Totals(
        books_pence=books,
        postage_pence=postage_pence,
        postage_vat_pence=vat_included(postage_pence, postage_vat_percent),
    )


def refund_amount(
    *,
    total_pence: int,
    refunded_pence: int,
    amount_pence: int | None,
    lines_pence: int | None,
) -> int:
    """How much to refund now: an amount, or the value of some lines, within what is left."""
    if (amount_pence is None) == (lines_pence is None):
        raise InvalidInput("Give either an amount in pence or the lines to refund, not both.")
    amount = amount_pence if amount_pence is not None else lines_pence
    assert amount is not None
    left = total_pence - refunded_pence
    if amount < 1:
        raise InvalidInput("A refund must be at least 1p.")
    if amount > left:
        raise Conflict(
            f"Only {format_pence(left)} of this order is left to refund; "
            f"{format_pence(amount)} was asked for."
        )
    return amount


def copies_left(lines: Iterable[PricedLine], refunded: Mapping[str, int]) -> dict[str, int]:
    """Copies of each line (by ISBN) not yet refunded by line. `refunded` counts only refunds
    that named their copies: refunds by amount, of everything, or on Stripe's dashboard bring
    money back without saying which books, so they leave every line's copies as they were."""
    return {line.isbn13: max(0, line.quantity - refunded.get(line.isbn13, 0)) for line in lines}


def lines_refund_pence(
    lines: Sequence[PricedLine],
    *,
    refunded: Mapping[str, int],
    wanted: Mapping[str, int],
) -> int:
    """The value of the copies `wanted` back (ISBN -> copies), each line within its copies not
    yet refunded by line, so that no copy is paid back twice."""
    by_isbn = {line.isbn13: line for line in lines}
    left = copies_left(lines, refunded)
    value = 0
    for isbn13, quantity in wanted.items():
        line = by_isbn.get(isbn13)
        if line is None:
            raise InvalidInput(f"This order has no line for ISBN {isbn13}.")
        if quantity < 1:
            raise InvalidInput(f"Refund at least one copy of '{line.title}', not {quantity}.")
        if quantity > left[isbn13]:
            already = line.quantity - left[isbn13]
            problem = (
                f"Refund from 0 to {left[isbn13]} copies of '{line.title}', not {quantity}"
                + (f": {already} of its {line.quantity} refunded already." if already else ".")
            )
            # More than were ordered is a mistake in the request; more than are left, news of
            # an earlier refund.
            raise Conflict(problem) if already else InvalidInput(problem)
        value += line.unit_price_pence * quantity
    return value


def status_after_refund(*, total_pence: int, refunded_pence: int) -> OrderStatus | None:
    """A refund of the whole total ends the order; a partial one leaves it where it is."""
    return OrderStatus.REFUNDED if refunded_pence >= total_pence else None


def restocks(status: OrderStatus, *, copies: Mapping[str, int] | None, asked: bool | None) -> bool:
    """Whether a refund's copies go back on the shelf. Before dispatch or collection they
    never left it, so they always do (a damaged one is then taken off with a stock adjustment,
    which the ledger records as such); after it only when staff say they came back. A refund
    by amount names no copies, so it can put none back."""
    if not copies:
        if asked:
            raise InvalidInput(
                "Only a refund of copies can put them back on the shelf: choose the copies, "
                "or refund everything."
            )
        return False
    if status == OrderStatus.PAID:
        if asked is False:
            raise InvalidInput(
                "Copies refunded before they are sent are still on the shelf, so they go back "
                "on sale: take a damaged one off with an adjustment on its stock page."
            )
        return True
    return bool(asked)


def nothing_left_to_send(lines: Sequence[PricedLine], refunded: Mapping[str, int]) -> bool:
    """Every copy of the order refunded by line: there is nothing to post or collect."""
    return not any(copies_left(lines, refunded).values())


class RefundRoute(StrEnum):
    """How a refund's money goes back: through Stripe to the card or account that paid, or
    handed over at the shop counter where it was paid (and only recorded here)."""

    STRIPE = "stripe"
    COUNTER = "counter"


def refund_route(
    status: OrderStatus, *, payment_method: str | None, paid_through_stripe: bool
) -> RefundRoute | None:
    """The way the order's money goes back; None while nothing is paid that may be refunded.
    The rest of a refund (which copies, how much, the shelf, the order's end) is the same
    either way."""
    if status not in REFUNDABLE:
        return None
    if paid_through_stripe:
        return RefundRoute.STRIPE
    return RefundRoute.COUNTER if payment_method == PaymentMethod.ON_COLLECTION else None


@dataclass(frozen=True)
class LineAfterRefunds:
    """One of the order's lines as its refunds by line left it."""

    isbn13: str
    title: str
    unit_price_pence: int
    bought: int
    refunded: int

    @property
    def kept(self) -> int:
        """Copies the customer still has (or is still to be sent), paid for."""
        return self.bought - self.refunded

    @property
    def refunded_pence(self) -> int:
        return self.unit_price_pence * self.refunded

    @property
    def paid_pence(self) -> int:
        return self.unit_price_pence * self.kept


@dataclass(frozen=True)
class OrderAfterRefunds:
    """What the order now is: each line's copies bought and refunded, and the money refunded
    and still paid. The order's money counts what no line's copies account for (refunds by
    amount or on Stripe's dashboard, the postage), so it can be more than its lines'."""

    lines: tuple[LineAfterRefunds, ...]
    total_pence: int
    refunded_pence: int

    @property
    def paid_pence(self) -> int:
        return self.total_pence - self.refunded_pence


def after_refunds(
    lines: Sequence[PricedLine],
    refunded: Mapping[str, int],
    *,
    total_pence: int,
    refunded_pence: int,
) -> OrderAfterRefunds:
    """The order after its refunds; `refunded` counts copies refunded by line (ISBN -> copies)."""
    left = copies_left(lines, refunded)
    return OrderAfterRefunds(
        lines=tuple(
            LineAfterRefunds(
                isbn13=line.isbn13,
                title=line.title,
                unit_price_pence=line.unit_price_pence,
                bought=line.quantity,
                refunded=line.quantity - left[line.isbn13],
            )
            for line in lines
        ),
        total_pence=total_pence,
        refunded_pence=refunded_pence,
    )
