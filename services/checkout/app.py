"""`create_app(settings)`: checkout's web app. No I/O here; connections open on first use."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from services.checkout.controllers.api import PhoneOrdersController
from services.checkout.controllers.health import health
from services.checkout.controllers.pages import BuyPagesController, OrderStatusController
from services.checkout.controllers.staff_orders import StaffOrdersController
from services.checkout.controllers.staff_phone import StaffPhoneController
from services.checkout.controllers.webhook import StripeWebhookController
from services.checkout.payments import PaymentGateway
from services.checkout.service import Requester
from services.checkout.settings import CheckoutSettings
from services.checkout.wiring import build_checkout
from shared.auth.csrf import staff_csrf_config
from shared.auth.sessions import staff_session_config
from shared.observability.layer import ObservabilityLayer
from shared.ratelimit import ORDER_STATUS, rate_limits
from shared.web import EXCEPTION_HANDLERS, MAX_JSON_BODY_BYTES, openapi_config
from shared.web_assets import staff_static_files, staff_template_config

TEMPLATES = Path(__file__).parent / "templates"


def create_app(
    settings: CheckoutSettings,
    *,
    payments: PaymentGateway | None = None,
    requester: Requester | None = None,
) -> Litestar:
    """`payments` and `requester` replace Stripe and the catalogue's replies (tests)."""
    checkout = build_checkout(settings, payments=payments, requester=requester)
    sessions = staff_session_config(settings)
    limiter = rate_limits(settings, ORDER_STATUS)
    observability = ObservabilityLayer(settings.service_name, settings.redis_url)

    @contextlib.asynccontextmanager
    async def background(_: Litestar) -> AsyncIterator[None]:
        sender = asyncio.create_task(checkout.emails.run(), name="checkout-email-sender")
        try:
            async with checkout.runtime.relaying():
                yield
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await checkout.close()

    def provide(value: object) -> Provide:
        return Provide(lambda: value, sync_to_thread=False)

    return Litestar(
        route_handlers=[
            *observability.route_handlers,
            BuyPagesController,
            OrderStatusController,
            StripeWebhookController,
            PhoneOrdersController,
            StaffPhoneController,
            StaffOrdersController,
            staff_static_files("checkout"),
            health,
        ],
        dependencies={
            "orders": provide(checkout.orders),
            "desk": provide(checkout.desk),
            "stripe_events": provide(checkout.stripe_events),
            "runtime": provide(checkout.runtime),
            "settings": provide(settings),
        },
        state=State({"settings": settings, "checkout": checkout}),
        middleware=[*observability.middleware, sessions.middleware, limiter],
        csrf_config=staff_csrf_config(settings),
        on_shutdown=[sessions.close, limiter.close],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_JSON_BODY_BYTES,
        openapi_config=openapi_config(
            "checkout",
            "Checkout",
            "Phone orders, payment links, refunds and fulfilment for the bookshop's staff.",
        ),
        template_config=staff_template_config("checkout", TEMPLATES),
        lifespan=[background],
        # The process's own logging (JSON lines, shared.observability) stays; Litestar's default
        # config would replace the root handlers with its plain-text format.
        logging_config=None,
        debug=settings.debug,
    )
