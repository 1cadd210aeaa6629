"""The hosted checkout page a customer is sent to by a session's `url`."""

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.stripe_standin.components import standin_of
from services.stripe_standin.errors import StripeError
from services.stripe_standin.objects import format_amount
from services.stripe_standin.state import Customer, StandinState

SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def _page(state: StandinState, session_id: str, error: str | None = None) -> Template:
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
        "customer_email": session["customer_email"],
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
    customer = Customer(
        email=(form.get("email") or "").strip() or None,
        name=(form.get("name") or "").strip() or None,
    )
    session = state.retrieve(session_id, "checkout.session")
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
        return _page(state, session_id, error=error.message)
    success_url = session["success_url"].replace(SESSION_ID_PLACEHOLDER, session_id)
    return Redirect(path=success_url, status_code=303)


hosted_pages = Router(path="/pay", route_handlers=[checkout_page, checkout_action])
