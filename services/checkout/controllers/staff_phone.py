"""The phone-order clerk's page: find the customer, add books, place the order, take payment.

Keyboard first: the customer search has the focus when the page opens; Enter takes the
highlighted customer (or starts a new one) and moves to the book search; Enter there adds the
highlighted book and puts the cursor in its quantity; Enter in a quantity goes back to the
book search; Ctrl+Enter places the order. The basket and its total with postage are
computed on the server (htmx) from the form itself, so the form is the basket.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import CacheControlHeader, FormMultiDict
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from services.checkout.controllers.dependencies import Desk, Orders
from services.checkout.desk import StaffDesk
from services.checkout.domain import EMAIL_ADDRESS, Delivery, OrderStatus, can_cancel
from services.checkout.models import Order
from services.checkout.service import Customer, StockUnavailable, WantedLine
from shared.auth.guards import requires
from shared.auth.roles import Role
from shared.errors import InvalidInput, ShopError

EMAIL = re.compile(EMAIL_ADDRESS)
MAX_ADDRESS_LINES = 8
MAX_FIELD = 200

# Read out on the phone: every character of a reference by a word nobody mishears.
SPOKEN = {
    "A": "Alfa", "C": "Charlie", "D": "Delta", "E": "Echo", "F": "Foxtrot", "G": "Golf",
    "H": "Hotel", "J": "Juliett", "K": "Kilo", "M": "Mike", "N": "November", "P": "Papa",
    "Q": "Quebec", "R": "Romeo", "T": "Tango", "U": "Uniform", "V": "Victor", "W": "Whiskey",
    "X": "X-ray", "Y": "Yankee", "3": "three", "4": "four", "6": "six", "7": "seven",
    "9": "nine",
}  # fmt: skip


def spelled(reference: str) -> list[tuple[str, str]]:
    """Each character of the reference with the word to say for it."""
    return [(ch, SPOKEN.get(ch, ch)) for ch in reference]


def _html(name: str, context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(
        template_name=name, context=context, media_type=MediaType.HTML, status_code=status_code
    )


def _field(form: FormMultiDict, name: str) -> str:
    return str(form.get(name) or "").strip()[:MAX_FIELD]


def _delivery(form: FormMultiDict) -> Delivery:
    return Delivery.COLLECTION if form.get("delivery") == Delivery.COLLECTION else Delivery.POST


def _basket_lines(form: FormMultiDict) -> list[tuple[str, str]]:
    """The basket as the form holds it: (ISBN, quantity as typed), in the order added."""
    isbns = [str(value) for value in form.getall("isbn", [])]
    quantities = [str(value).strip() for value in form.getall("quantity", [])]
    return list(zip(isbns, quantities + ["1"] * (len(isbns) - len(quantities)), strict=True))


class PhoneOrderForm:
    """What the clerk typed, kept to show the page again after a refusal."""

    def __init__(self, form: FormMultiDict) -> None:
        self.idempotency_key = _field(form, "idempotency_key")
        self.name = _field(form, "name")
        self.email = _field(form, "email")
        self.phone = _field(form, "phone")
        self.address = str(form.get("address") or "")[: MAX_FIELD * MAX_ADDRESS_LINES]
        self.delivery = _delivery(form)
        self.lines = _basket_lines(form)

    @classmethod
    def empty(cls) -> PhoneOrderForm:
        blank = cls(FormMultiDict())
        blank.idempotency_key = new_key()
        return blank

    def address_lines(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.address.splitlines() if line.strip())

    def customer(self) -> Customer:
        """The customer, or InvalidInput saying what is missing."""
        if not self.name:
            raise InvalidInput("Enter the customer's name.")
        if self.email and not EMAIL.fullmatch(self.email):
            raise InvalidInput(f"'{self.email}' does not look like an email address.")
        if self.delivery is Delivery.POST:
            if not self.email:
                raise InvalidInput(
                    "A posted order is paid by a payment link: enter the customer's email."
                )
            if not self.address_lines():
                raise InvalidInput("A posted order needs the customer's postal address.")
        if len(self.address_lines()) > MAX_ADDRESS_LINES:
            raise InvalidInput(f"An address has at most {MAX_ADDRESS_LINES} lines.")
        if not self.email and not self.phone:
            raise InvalidInput("Enter a phone number or an email address to reach the customer.")
        return Customer(
            name=self.name,
            email=self.email,
            phone=self.phone or None,
            address=self.address_lines() or None,
        )

    def wanted(self) -> list[WantedLine]:
        if not self.lines:
            raise InvalidInput("Add at least one book to the order.")
        return [WantedLine(isbn, quantity) for isbn, quantity in self.lines]


def new_key() -> str:
    return uuid.uuid4().hex


async def _basket_context(
    desk: StaffDesk,
    lines: list[tuple[str, str]],
    delivery: Delivery,
    *,
    focus: str | None = None,
    short: dict[str, int] | None = None,
) -> dict[str, Any]:
    quote = await desk.quote(
        lines=[WantedLine(isbn, quantity) for isbn, quantity in lines], delivery=delivery
    )
    return {
        "quote": quote,
        "typed": dict(lines),
        "delivery": delivery.value,
        "focus": focus,
        # What the catalogue said when it refused the order: fresher than our copy's count.
        "short": short or {},
    }


class StaffPhoneController(Controller):
    path = "/staff/phone"
    guards = [requires(Role.PHONE_ORDERS)]
    include_in_schema = False
    cache_control = CacheControlHeader(no_store=True)

    @get("/")
    async def page(self, desk: Desk) -> Template:
        form = PhoneOrderForm.empty()
        return _html(
            "staff/phone.html",
            {"form": form, "error": None, **await _basket_context(desk, [], form.delivery)},
        )

    @get("/customers")
    async def customers(self, desk: Desk, q: FromQuery[str] = "") -> Template:
        """Past customers matching a phone number, email or name as it is typed."""
        found = await desk.find_customers(q[:MAX_FIELD])
        return _html("staff/_customer_results.html", {"customers": found, "q": q.strip()})

    @get("/books")
    async def books(self, desk: Desk, q: FromQuery[str] = "") -> Template:
        """Books whose title words or ISBN start as typed, with price and copies left."""
        found = await desk.search_books(q[:MAX_FIELD])
        return _html("staff/_book_results.html", {"books": found, "q": q.strip()})

    @post("/basket", status_code=200)
    async def basket(self, request: Request[Any, Any, Any], desk: Desk) -> Template:
        """The basket again after adding, removing or changing a line, or the delivery."""
        form = await request.form()
        lines = _basket_lines(form)
        removed = str(form.get("remove") or "")
        lines = [line for line in lines if line[0] != removed]
        added = str(form.get("add") or "")
        if added:
            quantities = dict(lines)
            if added in quantities:
                typed = quantities[added]
                bumped = str(int(typed) + 1) if typed.isdigit() else typed
                lines = [(isbn, bumped if isbn == added else q) for isbn, q in lines]
            else:
                lines.append((added, "1"))
        context = await _basket_context(desk, lines, _delivery(form), focus=added or None)
        return _html("staff/_basket.html", context)

    @post("/orders", status_code=303)
    async def place(
        self, request: Request[Any, Any, Any], orders: Orders, desk: Desk
    ) -> Redirect | Template:
        """Place the order and hold the copies. The form's key makes a double submit one order."""
        form = PhoneOrderForm(await request.form())
        if not form.idempotency_key:
            form.idempotency_key = new_key()
        try:
            order, _ = await orders.place_phone_order(
                idempotency_key=form.idempotency_key,
                customer=form.customer(),
                lines=form.wanted(),
                delivery=form.delivery,
            )
        except StockUnavailable as error:
            return await self._refused(desk, form, error, short=_short_lines(error))
        except ShopError as error:
            return await self._refused(desk, form, error)
        if order.status == OrderStatus.REJECTED:
            # The same submit arrived twice and the first was refused: say why, again.
            return await self._refused(desk, form, StockUnavailable(_last_note(order)))
        return Redirect(f"/staff/phone/orders/{order.reference}", status_code=303)

    async def _refused(
        self,
        desk: StaffDesk,
        form: PhoneOrderForm,
        error: ShopError,
        *,
        short: dict[str, int] | None = None,
    ) -> Template:
        # A refused order keeps its key; the next try is a new order, so it needs a new key.
        form.idempotency_key = new_key()
        context = await _basket_context(desk, form.lines, form.delivery, short=short)
        return _html(
            "staff/phone.html",
            {"form": form, "error": error.message, **context},
            status_code=error.status_code,
        )

    @get("/orders/{reference:str}")
    async def placed(
        self, orders: Orders, reference: FromPath[str], done: FromQuery[str] = ""
    ) -> Template:
        """The order placed: its reference to read back, and how the customer will pay."""
        return await self._placed_page(await orders.get(reference), done=done)

    async def _placed_page(
        self, order: Order, *, done: str = "", error: str | None = None, status_code: int = 200
    ) -> Template:
        return _html(
            "staff/phone_placed.html",
            {
                "order": order,
                "spelled": spelled(order.reference),
                "done": done,
                "error": error,
                "cancellable": can_cancel(OrderStatus(order.status)),
            },
            status_code=status_code,
        )

    @post("/orders/{reference:str}/payment-link", status_code=303)
    async def payment_link(self, orders: Orders, reference: FromPath[str]) -> Redirect | Template:
        """A Stripe payment link, emailed to the customer."""
        try:
            order = await orders.send_payment_link(reference)
        except ShopError as error:
            return await self._placed_page(
                await orders.get(reference), error=error.message, status_code=error.status_code
            )
        return Redirect(f"/staff/phone/orders/{order.reference}?done=link", status_code=303)

    @post("/orders/{reference:str}/pay-on-collection", status_code=303)
    async def pay_on_collection(
        self, orders: Orders, reference: FromPath[str]
    ) -> Redirect | Template:
        try:
            order = await orders.pay_on_collection(reference)
        except ShopError as error:
            return await self._placed_page(
                await orders.get(reference), error=error.message, status_code=error.status_code
            )
        return Redirect(f"/staff/phone/orders/{order.reference}?done=collection", status_code=303)


def _last_note(order: Order) -> str:
    notes = [change.note for change in order.history if change.note]
    return f"Sorry: {notes[-1]}." if notes else "The order was refused."


def _short_lines(error: StockUnavailable) -> dict[str, int]:
    """ISBN to copies left, from the catalogue's refusal."""
    short = error.extra.get("short")
    if not isinstance(short, list):
        return {}
    return {str(line["isbn13"]): int(line["available"]) for line in short}
