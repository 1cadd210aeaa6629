"""The staff JSON API for phone orders, refunds and fulfilment (staff pages come later)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from services.checkout.domain import Delivery
from services.checkout.schemas import FulfilIn, OrderRead, PhoneOrderCreate, RefundCreate
from services.checkout.service import Customer, OrderService, WantedLine
from services.checkout.settings import CheckoutSettings
from shared.errors import ShopError


class NotAllowed(ShopError):
    status_code = 403


def staff_token_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    settings: CheckoutSettings = connection.app.state["settings"]
    token = settings.staff_api_token
    if not token:
        raise NotAllowed("The staff API is closed: set CHECKOUT_STAFF_API_TOKEN to open it.")
    scheme, _, given = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise NotAllowed("The staff API needs 'Authorization: Bearer <staff token>'.")


class PhoneOrdersController(Controller):
    path = "/api/checkout/orders"
    guards = [staff_token_guard]
    tags = ["orders"]

    @post("/", status_code=201)
    async def place(
        self, request: Request[Any, Any, Any], orders: OrderService, data: PhoneOrderCreate
    ) -> Response[OrderRead]:
        """A phone order; the Idempotency-Key header makes a repeated submit find the same order."""
        order, created = await orders.place_phone_order(
            idempotency_key=request.headers.get("idempotency-key", ""),
            customer=Customer(
                name=data.customer.name,
                email=data.customer.email,
                phone=data.customer.phone,
                address=tuple(data.customer.address) if data.customer.address else None,
            ),
            lines=[WantedLine(line.isbn, line.quantity) for line in data.lines],
            delivery=Delivery(data.delivery),
        )
        return Response(OrderRead.of(order), status_code=201 if created else 200)

    @get("/{reference:str}")
    async def read(self, orders: OrderService, reference: str) -> OrderRead:
        return OrderRead.of(await orders.get(reference))

    @post("/{reference:str}/payment-link", status_code=200)
    async def payment_link(self, orders: OrderService, reference: str) -> OrderRead:
        """A Stripe Checkout Session for the order, emailed to the customer."""
        return OrderRead.of(await orders.send_payment_link(reference))

    @post("/{reference:str}/pay-on-collection", status_code=200)
    async def pay_on_collection(self, orders: OrderService, reference: str) -> OrderRead:
        return OrderRead.of(await orders.pay_on_collection(reference))

    @post("/{reference:str}/refund", status_code=200)
    async def refund(self, orders: OrderService, reference: str, data: RefundCreate) -> OrderRead:
        order = await orders.refund(
            reference,
            reason=data.reason,
            amount_pence=data.amount_pence,
            lines=[(line.isbn, line.quantity) for line in data.lines]
            if data.lines is not None
            else None,
        )
        return OrderRead.of(order)

    @post("/{reference:str}/fulfil", status_code=200)
    async def fulfil(self, orders: OrderService, reference: str, data: FulfilIn) -> OrderRead:
        """Dispatched (posted orders) or collected; the customer is emailed."""
        return OrderRead.of(await orders.fulfil(reference, how=data.how))

    @post("/{reference:str}/cancel", status_code=200)
    async def cancel(self, orders: OrderService, reference: str) -> OrderRead:
        return OrderRead.of(await orders.cancel(reference, note="cancelled by staff"))
