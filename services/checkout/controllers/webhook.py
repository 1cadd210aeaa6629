"""Stripe's webhook endpoint: the only thing that marks an order paid."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Request, post

from services.checkout.controllers.dependencies import StripeEvents

log = logging.getLogger(__name__)


class StripeWebhookController(Controller):
    path = "/checkout/stripe"
    include_in_schema = False

    @post("/webhook", status_code=200)
    async def receive(
        self, request: Request[Any, Any, Any], stripe_events: StripeEvents
    ) -> dict[str, str]:
        # The signature covers the exact bytes, so the body is read raw, never re-encoded.
        outcome = await stripe_events.receive(
            await request.body(), request.headers.get("stripe-signature")
        )
        log.info("Stripe webhook: %s", outcome)
        return {"received": outcome}
