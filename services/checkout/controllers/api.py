"""The staff JSON API for phone orders, refunds and fulfilment: the phone_orders role (or admin)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from services.checkout.controllers.dependencies import Orders
from services.checkout.domain import Delivery
from services.checkout.schemas import FulfilIn, OrderRead, PhoneOrderCreate, RefundCreate
from services.checkout.service import Customer, WantedLine
from shared.auth.guards import requires
from shared.auth.roles import Role


class PhoneOrdersController(Controller):
    path = "/api/checkout/orders"
    guards = [requires(Role.PHONE_ORDERS)]
    tags = ["orders"]

    @post("/", status_code=201)
    async def place(
        self, request: Request[Any, Any, Any], orders: Orders, data: JSONBody[PhoneOrderCreate]
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
    async def read(self, orders: Orders, reference: FromPath[str]) -> OrderRead:
        return OrderRead.of(await orders.get(reference))

    @post("/{reference:str}/payment-link", status_code=200)
    async def payment_link(self, orders: Orders, reference: FromPath[str]) -> OrderRead:
        """A Stripe Checkout Session for the order, emailed to the customer."""
        return OrderRead.of(await orders.send_payment_link(reference))

    @post("/{reference:str}/pay-on-collection", status_code=200)
    async def pay_on_collection(self, orders: Orders, reference: FromPath[str]) -> OrderRead:
        return OrderRead.of(await orders.pay_on_collection(reference))

    @post("/{reference:str}/refund", status_code=200)
    async def refund(
        self, orders: Orders, reference: FromPath[str], data: JSONBody[RefundCreate]
    ) -> OrderRead:
        order = await orders.refund(
            reference,
            reason=data.reason,
            amount_pence=data.amount_pence,
            lines=[(line.isbn, line.quantity) for line in data.lines]
            if data.lines is not None
            else None,
            restock=data.restock,
        )
        return OrderRead.of(order)

    @post("/{reference:str}/fulfil", status_code=200)
    async def fulfil(
        self, orders: Orders, reference: FromPath[str], data: JSONBody[FulfilIn]
    ) -> OrderRead:
        """Dispatched (posted orders) or collected; the customer is emailed."""
        return OrderRead.of(await orders.fulfil(reference, how=data.how))

    @post("/{reference:str}/cancel", status_code=200)
    async def cancel(self, orders: Orders, reference: FromPath[str]) -> OrderRead:
        return OrderRead.of(await orders.cancel(reference, note="cancelled by staff"))
