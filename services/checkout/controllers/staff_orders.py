"""The orders pages: the fulfilment queue, search, an order's detail with its history, the
packing steps, refunds (in full or by line, with a reason), emails sent again and cancelling an
order not yet paid."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import CacheControlHeader, FormMultiDict
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from services.checkout.controllers.dependencies import Desk, Orders
from services.checkout.controllers.staff_phone import new_key
from services.checkout.desk import OrderView, StaffDesk
from services.checkout.domain import (
    Delivery,
    OrderStatus,
    RefundRoute,
    can_cancel,
    normalise_reference,
    parse_pounds,
)
from services.checkout.fulfilment import FulfilmentStage, fulfilment_stage
from services.checkout.refunds import refund_route_of
from shared.auth.guards import requires, staff_actor
from shared.auth.roles import Role
from shared.errors import InvalidInput, ShopError

MAX_REASON = 500

TABS = (
    (OrderView.TO_PICK, "To pick"),
    (OrderView.PICKING, "Picking"),
    (OrderView.PACKED, "Packed"),
    (OrderView.DONE, "Dispatched or collected"),
    (OrderView.AWAITING_PAYMENT, "Awaiting payment"),
    (OrderView.NEEDS_ATTENTION, "Needs attention"),
    (OrderView.ALL, "All"),
)
STAGE_NAMES = {
    FulfilmentStage.TO_PICK: "to pick",
    FulfilmentStage.PICKING: "picking",
    FulfilmentStage.PACKED: "packed",
    FulfilmentStage.DONE: "done",
}
NOTICES = {
    "picking": "Picking started.",
    "packed": "Marked packed.",
    "ready": "Marked packed; the customer has been emailed that it is ready to collect.",
    "ready_unemailed": "Marked packed. No email address: ring the customer to say it is ready "
    "to collect.",
    "dispatched": "Marked dispatched; the customer has been emailed.",
    "collected": "Marked collected.",
    "resent": "The email will be sent again in a moment.",
    "cancelled": "Cancelled; the copies are back on the shelf.",
}
# The refund's email goes only to an order with an address (phone and counter orders may have
# none), so what staff are told ends with whether the customer heard.
REFUND_NOTICES = {
    "refund": "Refund made.",
    "refund_restocked": "Refund made, and the copies are back on the shelf.",
    "counter_refund": "Refund given at the counter recorded.",
    "counter_refund_restocked": "Refund given at the counter recorded, and the copies are back "
    "on the shelf.",
}


def notice_of(done: str, customer_email: str | None) -> str | None:
    """The notice for the step just `done`, saying where a refund's email went, if anywhere."""
    if done not in REFUND_NOTICES:
        return NOTICES.get(done)
    told = (
        f"The customer has been emailed at {customer_email}."
        if customer_email
        else "No email address on the order: tell the customer yourself."
    )
    return f"{REFUND_NOTICES[done]} {told}"


def _html(name: str, context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(
        template_name=name, context=context, media_type=MediaType.HTML, status_code=status_code
    )


def _view(raw: str, search: str) -> OrderView:
    try:
        return OrderView(raw)
    except ValueError:
        # A search looks everywhere unless a tab was chosen.
        return OrderView.ALL if search.strip() else OrderView.TO_PICK


def refund_request(form: FormMultiDict, lines: list[tuple[str, str]]) -> dict[str, Any]:
    """The refund form as the use case takes it: a reason, and everything, an amount or some
    copies.

    `lines` are the order's (ISBN, title); how many copies of each may still be refunded is
    the use case's to say, as it is for the JSON API."""
    reason = str(form.get("reason") or "").strip()
    if not reason:
        raise InvalidInput("Give a reason for the refund; the customer is told it.")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason under {MAX_REASON} characters.")
    # The box is offered only while copies are left to refund: without it, the rule decides.
    restock = form.get("restock") == "yes" if "restock_offered" in form else None
    if form.get("what") == "all":
        return {"reason": reason, "lines": None, "full": True, "restock": restock}
    if form.get("what") == "amount":
        amount = parse_pounds(str(form.get("amount") or ""))
        return {"reason": reason, "amount": amount, "full": False, "restock": restock}
    chosen: list[tuple[str, int]] = []
    for isbn13, title in lines:
        raw = str(form.get(f"refund_{isbn13}") or "0").strip() or "0"
        if not raw.isdigit():
            raise InvalidInput(f"Give a whole number of copies of '{title}', not {raw!r}.")
        if int(raw):
            chosen.append((isbn13, int(raw)))
    if not chosen:
        raise InvalidInput("Choose the copies to refund, or refund the whole order.")
    return {"reason": reason, "lines": chosen, "full": False, "restock": restock}


class StaffOrdersController(Controller):
    path = "/staff/orders"
    guards = [requires(Role.PHONE_ORDERS)]
    include_in_schema = False
    cache_control = CacheControlHeader(no_store=True)

    @get("/")
    async def queue(
        self, desk: Desk, view: FromQuery[str] = "", q: FromQuery[str] = ""
    ) -> Template:
        chosen = _view(view, q)
        search = q.strip()[:200]
        found = await desk.fulfilment_queue(view=chosen, search=search)
        counts = await desk.queue_counts()
        return _html(
            "staff/orders.html",
            {
                "orders": found,
                "view": chosen.value,
                "q": search,
                "tabs": TABS,
                "counts": counts,
                "stage_of": fulfilment_stage,
                "stage_names": STAGE_NAMES,
            },
        )

    @get("/{reference:str}")
    async def detail(
        self, desk: Desk, reference: FromPath[str], done: FromQuery[str] = ""
    ) -> Template:
        return await self._detail_page(desk, reference, done=done)

    async def _detail_page(
        self,
        desk: StaffDesk,
        reference: str,
        *,
        done: str = "",
        error: str | None = None,
        status_code: int = 200,
        typed: Mapping[str, str] | None = None,
    ) -> Template:
        """The order's page, with the notice for the step just `done`; `typed` is a refused
        refund form's fields, drawn again as they were."""
        detail = await desk.detail(reference)
        order = detail.order
        route = refund_route_of(order)
        return _html(
            "staff/order_detail.html",
            {
                "detail": detail,
                "order": order,
                "stage": detail.stage,
                "stage_names": STAGE_NAMES,
                "finish": "collected" if order.delivery == Delivery.COLLECTION else "dispatched",
                "refundable": route is not None,
                "at_counter": route is RefundRoute.COUNTER,
                "refund_key": new_key(),
                "cancellable": can_cancel(OrderStatus(order.status)),
                "notice": notice_of(done, order.customer_email),
                "error": error,
                "typed": typed or {},
            },
            status_code=status_code,
        )

    async def _after(
        self,
        desk: StaffDesk,
        reference: str,
        done: str,
        action: Awaitable[object],
        *,
        typed: Mapping[str, str] | None = None,
    ) -> Redirect | Template:
        """Run a change; back to the detail page with a notice, or the page with what went wrong
        (and the form as it was `typed`)."""
        try:
            await action
        except ShopError as error:
            return await self._detail_page(
                desk, reference, error=error.message, status_code=error.status_code, typed=typed
            )
        return Redirect(
            f"/staff/orders/{normalise_reference(reference)}?done={done}", status_code=303
        )

    @post("/{reference:str}/fulfilment", status_code=303)
    async def fulfilment(
        self, request: Request[Any, Any, Any], orders: Orders, desk: Desk, reference: FromPath[str]
    ) -> Redirect | Template:
        """The next step on the packing table: picking, packed, then dispatched or collected."""
        step = str((await request.form()).get("step") or "")
        actor = staff_actor(request)
        if step in ("dispatched", "collected"):
            return await self._after(
                desk, reference, step, orders.fulfil(reference, how=step, by=actor)
            )
        if step not in ("picking", "packed"):
            return await self._detail_page(
                desk,
                reference,
                error="Choose a step: picking, packed, dispatched or collected.",
                status_code=400,
            )
        done = step
        if step == "packed":
            order = await orders.get(reference)
            if order.delivery == Delivery.COLLECTION:
                done = "ready" if order.customer_email else "ready_unemailed"
        return await self._after(
            desk,
            reference,
            done,
            orders.record_fulfilment_step(reference, step=FulfilmentStage(step), by=actor),
        )

    @post("/{reference:str}/refund", status_code=303)
    async def refund(
        self, request: Request[Any, Any, Any], orders: Orders, desk: Desk, reference: FromPath[str]
    ) -> Redirect | Template:
        """In full, by line or by amount; Stripe gives the money back (or staff did, at the
        counter, for an order paid there) and the customer is told why."""
        order = await orders.get(reference)
        form = await request.form()
        typed = {key: str(form.get(key) or "") for key in form}
        try:
            wanted = refund_request(form, [(line.isbn13, line.title) for line in order.lines])
        except InvalidInput as error:
            return await self._detail_page(
                desk, reference, error=error.message, status_code=400, typed=typed
            )
        action = orders.refund(
            reference,
            reason=wanted["reason"],
            amount_pence=wanted.get("amount"),
            everything=wanted["full"],
            lines=wanted.get("lines"),
            restock=wanted["restock"],
            idempotency_key=str(form.get("idempotency_key") or "") or None,
        )
        # Copies refunded without the box (an order not yet sent) go back: domain.restocks.
        restocking = "amount" not in wanted and (
            wanted["restock"] if wanted["restock"] is not None else order.status == OrderStatus.PAID
        )
        done = "refund_restocked" if restocking else "refund"
        if refund_route_of(order) is RefundRoute.COUNTER:
            done = f"counter_{done}"
        return await self._after(desk, reference, done, action, typed=typed)

    @post("/{reference:str}/cancel", status_code=303)
    async def cancel(
        self, request: Request[Any, Any, Any], orders: Orders, desk: Desk, reference: FromPath[str]
    ) -> Redirect | Template:
        """An order taken by mistake or never to be paid: the API's cancel, which puts the
        copies back on the shelf and ends any payment link, with who did it in the history."""
        note = f"cancelled by {staff_actor(request)}"
        return await self._after(desk, reference, "cancelled", orders.cancel(reference, note=note))

    @post("/{reference:str}/emails/{email_id:int}/resend", status_code=303)
    async def resend(
        self, orders: Orders, desk: Desk, reference: FromPath[str], email_id: FromPath[int]
    ) -> Redirect | Template:
        return await self._after(
            desk, reference, "resent", orders.resend_email(reference, email_id=email_id)
        )
