"""The Stripe API endpoints the checkout service uses, under /v1."""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath

from services.stripe_standin.components import Standin, standin_of
from services.stripe_standin.errors import StripeError
from services.stripe_standin.idempotency import StoredResponse, request_fingerprint
from services.stripe_standin.objects import new_id
from services.stripe_standin.params import decode_form, integer_param
from services.stripe_standin.state import RequestContext

Operation = Callable[[Standin, dict[str, Any], RequestContext], dict[str, Any]]


def json_response(
    body: bytes, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def _respond(request: Request, operation: Operation) -> Response[bytes]:
    standin = standin_of(request)
    raw = await request.body() if request.method == "POST" else request.scope["query_string"]
    params = decode_form(parse_qsl(raw.decode(), keep_blank_values=True))
    key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    request_id = new_id("req", 14)
    context = RequestContext(id=request_id, idempotency_key=key)
    api_key = request.headers.get("Authorization", "")
    fingerprint = request_fingerprint(request.method, request.url.path, params)
    if key is not None:
        stored = standin.idempotency.replay(api_key, key, fingerprint)
        if stored is not None:
            return json_response(
                stored.body,
                status=stored.status,
                headers={
                    "Request-Id": request_id,
                    "Idempotent-Replayed": "true",
                    "Original-Request": stored.request_id,
                },
            )
    body = json.dumps(operation(standin, params, context), indent=2).encode()
    if key is not None:
        standin.idempotency.save(api_key, key, StoredResponse(fingerprint, 200, body, request_id))
    headers = {"Request-Id": request_id}
    if key is not None:
        headers["Idempotency-Key"] = key
    return json_response(body, headers=headers)


def _retrieve(kind: str, object_id: str) -> Operation:
    return lambda standin, params, _: standin.state.retrieve(
        object_id, kind, expand=params.get("expand")
    )


@post("/checkout/sessions", status_code=200)
async def create_session(request: Request) -> Response[bytes]:
    return await _respond(request, lambda s, params, ctx: s.state.create_session(params, ctx))


@get("/checkout/sessions/{session_id:str}")
async def retrieve_session(request: Request, session_id: FromPath[str]) -> Response[bytes]:
    return await _respond(request, _retrieve("checkout.session", session_id))


@post("/checkout/sessions/{session_id:str}/expire", status_code=200)
async def expire_session(request: Request, session_id: FromPath[str]) -> Response[bytes]:
    return await _respond(request, lambda s, _, ctx: s.state.expire_session(session_id, ctx))


@get("/checkout/sessions/{session_id:str}/line_items")
async def session_line_items(request: Request, session_id: FromPath[str]) -> Response[bytes]:
    return await _respond(request, lambda s, _, __: s.state.session_line_items(session_id))


@get("/payment_intents/{intent_id:str}")
async def retrieve_payment_intent(request: Request, intent_id: FromPath[str]) -> Response[bytes]:
    return await _respond(request, _retrieve("payment_intent", intent_id))


@get("/charges/{charge_id:str}")
async def retrieve_charge(request: Request, charge_id: FromPath[str]) -> Response[bytes]:
    return await _respond(request, _retrieve("charge", charge_id))


@post("/refunds", status_code=200)
async def create_refund(request: Request) -> Response[bytes]:
    return await _respond(request, lambda s, params, ctx: s.state.create_refund(params, ctx))


@get("/refunds/{refund_id:str}")
async def retrieve_refund(request: Request, refund_id: FromPath[str]) -> Response[bytes]:
    return await _respond(request, _retrieve("refund", refund_id))


@get("/events/{event_id:str}")
async def retrieve_event(request: Request, event_id: FromPath[str]) -> Response[bytes]:
    return await _respond(request, _retrieve("event", event_id))


@get("/events")
async def list_events(request: Request) -> Response[bytes]:
    def operation(standin: Standin, params: dict[str, Any], _: RequestContext) -> dict[str, Any]:
        limit = integer_param(params.get("limit", 10), "limit")
        if not 1 <= limit <= 100:
            raise StripeError("Limit must be between 1 and 100.", param="limit")
        return standin.state.list_events(
            limit=limit, starting_after=params.get("starting_after"), type=params.get("type")
        )

    return await _respond(request, operation)


@post("/webhook_endpoints", status_code=200)
async def create_webhook_endpoint(request: Request) -> Response[bytes]:
    return await _respond(request, lambda s, params, _: s.state.add_webhook_endpoint(params))


@get("/webhook_endpoints/{endpoint_id:str}")
async def retrieve_webhook_endpoint(
    request: Request, endpoint_id: FromPath[str]
) -> Response[bytes]:
    return await _respond(request, _retrieve("webhook_endpoint", endpoint_id))


stripe_api = Router(
    path="/v1",
    route_handlers=[
        create_session,
        retrieve_session,
        expire_session,
        session_line_items,
        retrieve_payment_intent,
        retrieve_charge,
        create_refund,
        retrieve_refund,
        retrieve_event,
        list_events,
        create_webhook_endpoint,
        retrieve_webhook_endpoint,
    ],
)
