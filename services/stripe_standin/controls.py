"""Test controls under /_standin: not part of Stripe's API, and never authenticated."""

from typing import Any

from litestar import Request, Router, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from services.stripe_standin.components import standin_of
from services.stripe_standin.errors import StripeError
from services.stripe_standin.faults import Fault
from services.stripe_standin.state import RequestContext


@post("/faults", status_code=201)
async def add_fault(request: Request, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    """Body: {"path", "kind": "error"|"hang", "count"=1, "seconds"=0, "method"=null}."""
    try:
        fault = Fault(
            path=str(data["path"]),
            kind=data["kind"],
            remaining=int(data.get("count", 1)),
            seconds=float(data.get("seconds", 0)),
            method=data.get("method"),
        )
        standin_of(request).faults.add(fault)
    except (KeyError, TypeError, ValueError) as error:
        raise StripeError(f"Bad fault {data!r}: {error}") from None
    return fault.as_dict()


@get("/faults")
async def list_faults(request: Request) -> list[dict[str, Any]]:
    return [fault.as_dict() for fault in standin_of(request).faults.pending()]


@delete("/faults")
async def clear_faults(request: Request) -> None:
    standin_of(request).faults.clear()


@get("/deliveries")
async def list_deliveries(
    request: Request, event_id: FromQuery[str | None] = None
) -> list[dict[str, Any]]:
    deliveries = standin_of(request).webhooks.deliveries
    return [d.as_dict() for d in deliveries if event_id in (None, d.event_id)]


@post("/events/{event_id:str}/redeliver", status_code=202)
async def redeliver_event(request: Request, event_id: FromPath[str]) -> dict[str, Any]:
    """Sends the same event again, as the dashboard's "Resend" does."""
    standin = standin_of(request)
    event = standin.state.retrieve(event_id, "event")
    standin.webhooks.deliver(event, standin.state.subscribers(event))
    return event


@post("/sessions/{session_id:str}/expire_now")
async def expire_session_now(request: Request, session_id: FromPath[str]) -> dict[str, Any]:
    """As if the clock passed the session's expires_at: the sweep's work, done now."""
    return standin_of(request).state.expire_session(session_id, RequestContext())


@post("/sessions/{session_id:str}/settle")
async def settle_bank_transfer(
    request: Request, session_id: FromPath[str], data: JSONBody[dict[str, Any]]
) -> dict[str, Any]:
    """Body: {"outcome": "succeeded"|"failed"} for a session paid by bank transfer."""
    outcome = data.get("outcome")
    if outcome not in ("succeeded", "failed"):
        raise StripeError("outcome must be 'succeeded' or 'failed'.", param="outcome")
    return standin_of(request).state.settle_bank_transfer(
        session_id, succeeded=outcome == "succeeded"
    )


@post("/reset", status_code=204)
async def reset(request: Request) -> None:
    standin_of(request).reset()


controls = Router(
    path="/_standin",
    route_handlers=[
        add_fault,
        list_faults,
        clear_faults,
        list_deliveries,
        redeliver_event,
        expire_session_now,
        settle_bank_transfer,
        reset,
    ],
)
