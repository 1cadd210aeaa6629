"""The stand-in as a Litestar app: Stripe's API, the hosted page, test controls, background work."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from services.stripe_standin.api import json_response, stripe_api
from services.stripe_standin.components import Standin, standin_of
from services.stripe_standin.controls import controls
from services.stripe_standin.errors import StripeError
from services.stripe_standin.faults import FaultPlan
from services.stripe_standin.idempotency import IdempotencyStore
from services.stripe_standin.pages import hosted_pages
from services.stripe_standin.settings import StripeStandinSettings
from services.stripe_standin.state import StandinState
from services.stripe_standin.webhooks import WebhookDispatcher

TEMPLATES = Path(__file__).parent / "templates"


def build_standin(
    settings: StripeStandinSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> Standin:
    state = StandinState(
        public_base_url=settings.public_base_url, api_version=settings.api_version, clock=clock
    )
    webhooks = WebhookDispatcher(
        retry_delays=settings.webhook_retry_delays,
        timeout_seconds=settings.webhook_timeout_seconds,
        on_delivered=state.mark_delivered,
        transport=transport,
    )
    state.subscribe(webhooks.deliver)
    for url in settings.webhook_urls:
        state.add_webhook_endpoint(
            {"url": url, "enabled_events": ["*"]}, secret=settings.webhook_secret, permanent=True
        )
    return Standin(settings, state, IdempotencyStore(), FaultPlan(), webhooks)


def create_app(
    settings: StripeStandinSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> Litestar:
    """`transport` replaces the network for webhook deliveries and `clock` the time (unit tests)."""
    standin = build_standin(settings, transport=transport, clock=clock)

    @asynccontextmanager
    async def background_work(app: Litestar) -> AsyncIterator[None]:
        sweep = asyncio.create_task(_expiry_sweep(standin))
        try:
            yield
        finally:
            sweep.cancel()
            await standin.webhooks.aclose()

    return Litestar(
        route_handlers=[stripe_api, hosted_pages, controls],
        state=State({"standin": standin}),
        before_request=_faults_then_auth,
        exception_handlers={StripeError: _stripe_error, HTTPException: _http_error},
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        lifespan=[background_work],
        openapi_config=None,
        # Logging is the process's to set (the shop's, or __main__'s): Litestar's default
        # would replace the root logger's handler with its own when the app starts, and in
        # `bookshop up` every service's lines would then come out in its plain format.
        logging_config=None,
    )


async def _expiry_sweep(standin: Standin) -> None:
    while True:
        await asyncio.sleep(standin.settings.expiry_sweep_seconds)
        standin.state.expire_due_sessions()


async def _faults_then_auth(request: Request) -> Response[bytes] | None:
    path = request.url.path
    if path.startswith("/_standin/"):
        return None
    fault = standin_of(request).faults.take(request.method, path)
    if fault is not None and fault.kind == "hang":
        # The body is read first so that the request completes even when the client gives up
        # waiting: a timed-out request that happened anyway is the case retries must handle.
        await request.body()
        await asyncio.sleep(fault.seconds)
    elif fault is not None:
        raise StripeError(
            "An unknown error occurred (injected by the stand-in's fault controls).",
            status=500,
            type="api_error",
        )
    if path.startswith("/v1/"):
        _authenticate(request.headers.get("Authorization"))
    return None


def _authenticate(authorization: str | None) -> None:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise StripeError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
            status=401,
        )
    if not key.startswith("sk_test_"):
        raise StripeError(
            f"Invalid API Key provided: {key[:8]}{'*' * max(len(key) - 12, 0)}{key[-4:]}",
            status=401,
        )


def _stripe_error(request: Request, error: StripeError) -> Response[bytes]:
    return json_response(json.dumps(error.body()).encode(), status=error.status)


def _http_error(request: Request, error: HTTPException) -> Response[bytes]:
    message = (
        f"Unrecognized request URL ({request.method}: {request.url.path})."
        if error.status_code in (404, 405)
        else str(error.detail)
    )
    body = StripeError(message, status=error.status_code).body()
    return json_response(json.dumps(body).encode(), status=error.status_code)
