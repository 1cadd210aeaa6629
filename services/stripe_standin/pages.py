"""The hosted checkout page a customer is sent to by a session's `url`."""

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.stripe_standin.components import standin_of
from services.stripe_standin.errors import StripeError
from services.stripe_standin.objects import format_amount
from services.stripe_standin.shipping import ShippingAddress
from services.stripe_standin.state import Customer, StandinState

SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def _page(
    state: StandinState,
    session_id: str,
    error: str | None = None,
    typed: Customer | None = None,
) -> Template:
    """The page; after an error, with what the payer typed filled in again."""
    session = state.retrieve(session_id, "checkout.session")
    intent = (
        state.retrieve(session["payment_intent"], "payment_intent")
        if session["payment_intent"]
        else None
    )
    items = state.session_line_items(session_id)["data"]
    currency = session["currency"]
    context: dict[str, Any] = {
        "session_id": session_id,
        "status": session["status"],
        "payment_status": session["payment_status"],
        "customer_email": (typed.email if typed else None) or session["customer_email"],
        "customer_name": typed.name if typed else None,
        "shipping": typed.shipping if typed else None,
        "shipping_countries": (session["shipping_address_collection"] or {}).get(
            "allowed_countries"
        ),
        "awaiting_transfer": intent is not None and intent["status"] == "processing",
        "total": format_amount(session["amount_total"], currency),
        "items": [
            {
                "description": i["description"],
                "quantity": i["quantity"],
                "amount": format_amount(i["amount_total"], currency),
            }
            for i in items
        ],
        "error": error,
    }
    return Template(
        template_name="checkout.html", context=context, status_code=400 if error else 200
    )


@get("/{session_id:str}")
async def checkout_page(request: Request, session_id: FromPath[str]) -> Template:
    return _page(standin_of(request).state, session_id)


@post("/{session_id:str}", status_code=303)
async def checkout_action(request: Request, session_id: FromPath[str]) -> Response[Any]:
    """Form actions of the page; tests post `action=pay` here without a browser."""
    state = standin_of(request).state
    form = await request.form()
    action = form.get("action")
    session = state.retrieve(session_id, "checkout.session")
    customer = Customer(
        email=_field(form, "email"),
        name=_field(form, "name"),
        shipping=_shipping(form) if session["shipping_address_collection"] else None,
    )
    try:
        if action == "pay":
            session = state.pay_by_card(session_id, customer)
        elif action == "bank_transfer":
            session = state.pay_by_bank_transfer(session_id, customer)
        elif action in ("transfer_arrived", "transfer_failed"):
            state.settle_bank_transfer(session_id, succeeded=action == "transfer_arrived")
            return Redirect(path=f"/pay/{session_id}", status_code=303)
        elif action == "cancel":
            if session["cancel_url"]:
                return Redirect(path=session["cancel_url"], status_code=303)
            return _page(state, session_id)
        else:
            return _page(state, session_id, error=f"Unknown action {action!r}.")
    except StripeError as error:
        return _page(state, session_id, error=error.message, typed=customer)
    success_url = session["success_url"].replace(SESSION_ID_PLACEHOLDER, session_id)
    return Redirect(path=success_url, status_code=303)


def _field(form: FormMultiDict, name: str) -> str | None:
    return str(form.get(name) or "").strip() or None


def _shipping(form: FormMultiDict) -> ShippingAddress:
    return ShippingAddress(
        name=_field(form, "shipping_name") or "",
        line1=_field(form, "shipping_line1") or "",
        line2=_field(form, "shipping_line2"),
        city=_field(form, "shipping_city") or "",
        # Stripe's page writes a postcode in capitals as it is typed.
        postal_code=(_field(form, "shipping_postal_code") or "").upper(),
        country=_field(form, "shipping_country") or "",
    )


hosted_pages = Router(path="/pay", route_handlers=[checkout_page, checkout_action])
