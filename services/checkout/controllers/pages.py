"""The reader's pages: Buy (from the book page), back from Stripe, and the order status page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from services.checkout.controllers.dependencies import Orders
from services.checkout.domain import PAYMENT_FAILED, OrderStatus
from services.checkout.models import Order
from services.checkout.orders import transfer_under_way
from services.checkout.schemas import OrderRead
from shared.auth.sessions import WITHOUT_STAFF_SESSION
from shared.errors import InvalidInput, NotFound
from shared.web import Form


class BuyPagesController(Controller):
    path = "/checkout"
    include_in_schema = False
    opt = WITHOUT_STAFF_SESSION

    @post("/buy", status_code=303)
    async def buy(
        self,
        orders: Orders,
        data: Form,
    ) -> Redirect:
        """The Buy form: isbn13, quantity, article, link and the page view's submission id.
        Any price sent is ignored."""
        isbn = str(data.get("isbn13") or data.get("isbn") or "").strip()
        if not isbn:
            raise InvalidInput("The Buy form must say which book (isbn13).")
        placed = await orders.buy(
            isbn=isbn,
            quantity=data.get("quantity", "1"),
            article_id=_text(data.get("article")),
            article_link=_text(data.get("link")),
            email=_text(data.get("email")),
            submission=_text(data.get("submission")),
        )
        assert placed.payment_url is not None
        return Redirect(path=placed.payment_url, status_code=303)

    @get("/success")
    async def success(self, orders: Orders, session_id: FromQuery[str]) -> Template:
        """Shown while the webhook confirms payment; it refreshes itself while a card payment is
        confirmed (not while a bank transfer is on its way) and never marks paid."""
        found = await orders.by_session(session_id)
        order = found.order
        return Template(
            template_name="success.html",
            context={
                "order": OrderRead.of(order),
                "now": found.now,
                "confirmed": order.status in _CONFIRMED,
                "transfer_under_way": transfer_under_way(order),
                "payment_failed": _payment_failed(order),
            },
        )

    @get("/cancel")
    async def left(self, orders: Orders, order_id: FromQuery[UUID]) -> Template:
        """Stripe's cancel_url, where its back link lands: says where the order stands and
        changes nothing. A GET must be safe (a prefetch or a second look must not close an
        order); the reader closes it with the page's button, or it lapses with its session."""
        order = await orders.by_id(order_id)
        return _left_page(order)

    @post("/cancel", status_code=200)
    async def cancel(
        self,
        orders: Orders,
        data: Form,
    ) -> Template:
        """The reader gives the order up: the copies go back on the shelf, Stripe's session ends."""
        try:
            order_id = UUID(str(data.get("order_id") or ""))
        except ValueError as error:
            raise InvalidInput("The form must say which order (order_id).") from error
        return _left_page(await orders.reader_left_checkout(order_id))


def _left_page(order: Order | None) -> Template:
    return Template(
        template_name="cancel.html",
        context={"order": OrderRead.of(order) if order is not None else None},
    )


class OrderStatusController(Controller):
    path = "/orders"
    include_in_schema = False
    opt = WITHOUT_STAFF_SESSION

    @get("/status")
    async def form(self) -> Template:
        return Template(template_name="status.html", context={"order": None, "error": None})

    @post("/status", status_code=200)
    async def lookup(
        self,
        request: Request[Any, Any, Any],
        orders: Orders,
        data: Form,
    ) -> Template:
        reference = str(data.get("reference") or "")
        email = str(data.get("email") or "")
        try:
            found = await orders.find_for_reader(reference=reference, email=email)
        except NotFound as error:
            return Template(
                template_name="status.html",
                context={
                    "order": None,
                    "error": error.message,
                    "reference": reference,
                    "email": email,
                },
                status_code=404,
            )
        return Template(
            template_name="status.html",
            context={
                "order": OrderRead.of(found.order),
                "now": found.now,
                "error": None,
                "payment_failed": _payment_failed(found.order),
            },
        )


_CONFIRMED = frozenset({"paid", "fulfilled", "refunded", "needs_attention"})


def _payment_failed(order: Order) -> bool:
    """Cancelled because the bank transfer failed, not by staff or the reader."""
    return (
        order.status == OrderStatus.CANCELLED
        and bool(order.history)
        and order.history[-1].note == PAYMENT_FAILED
    )


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
