"""Stripe, through its official SDK: Checkout Sessions, refunds and webhook verification.

Use cases talk to the `PaymentGateway` protocol; `StripeGateway` is the real one (pointed at
the stand-in by `CHECKOUT_STRIPE_API_BASE`), unit tests pass a fake.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import stripe
from stripe import error as stripe_errors

from services.checkout.settings import CheckoutSettings
from shared.errors import InvalidInput, TemporarilyUnavailable, Unprocessable

log = logging.getLogger(__name__)


class PaymentProviderUnavailable(TemporarilyUnavailable):
    """Stripe failed or did not answer in time; nothing was charged."""


class PaymentRequestRefused(Unprocessable):
    """Stripe refused what we asked (a bug or a state Stripe knows better than we do)."""


class BadWebhook(InvalidInput):
    """A webhook whose signature does not verify, or whose body is not an event."""


@dataclass(frozen=True)
class SessionLine:
    name: str
    unit_amount_pence: int
    quantity: int


@dataclass(frozen=True)
class SessionRequest:
    idempotency_key: str
    lines: tuple[SessionLine, ...]
    expires_at: int
    success_url: str
    cancel_url: str
    metadata: dict[str, str]
    client_reference_id: str
    customer_email: str | None = None
    # Countries the reader may have the books posted to; empty: Stripe asks for no address.
    shipping_countries: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShippingAddress:
    """Where the reader asked Stripe Checkout to have the books posted, and to whom."""

    name: str | None
    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None

    def lines(self) -> list[str]:
        """The address as an order keeps it, one line each, without the country when it is
        the UK: our postage is for UK addresses."""
        parts = [self.line1, self.line2, self.city, self.state, self.postal_code]
        if self.country and self.country != "GB":
            parts.append(self.country)
        return [part.strip() for part in parts if part and part.strip()]


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    status: str
    payment_status: str
    expires_at: int
    payment_intent: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    customer_email: str | None = None
    customer_name: str | None = None
    shipping: ShippingAddress | None = None


@dataclass(frozen=True)
class RefundMade:
    # Stripe's id of the refund; None for money handed back at the shop counter.
    id: str | None
    amount_pence: int
    # The charge's running total of refunds just after this one: it counts refunds made on
    # Stripe's dashboard whose charge.refunded may not have reached us yet. At the counter,
    # the order's own running total.
    charge_refunded_pence: int


class PaymentGateway(Protocol):
    async def create_session(self, request: SessionRequest) -> CheckoutSession: ...

    async def retrieve_session(self, session_id: str) -> CheckoutSession: ...

    async def expire_session(self, session_id: str) -> CheckoutSession: ...

    async def refund(
        self, *, payment_intent: str, amount_pence: int | None, idempotency_key: str, order_id: str
    ) -> RefundMade:
        """`amount_pence` None: whatever Stripe has left to refund on the payment."""
        ...

    def verify_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]: ...

    async def close(self) -> None: ...


def session_from(data: Any) -> CheckoutSession:
    """A Checkout Session from Stripe's object or an event's plain dict."""
    if isinstance(data, stripe.StripeObject):
        data = data.to_dict()
    details = data.get("customer_details") or {}
    intent = data.get("payment_intent")
    if intent is not None and not isinstance(intent, str):
        intent = intent["id"]
    return CheckoutSession(
        id=data["id"],
        url=data.get("url"),
        status=data.get("status") or "open",
        payment_status=data.get("payment_status") or "unpaid",
        expires_at=int(data.get("expires_at") or 0),
        payment_intent=intent,
        metadata=dict(data.get("metadata") or {}),
        customer_email=details.get("email") or data.get("customer_email"),
        customer_name=details.get("name"),
        shipping=_shipping_from(data),
    )


def _shipping_from(data: dict[str, Any]) -> ShippingAddress | None:
    """The collected shipping address: `collected_information.shipping_details` since API
    version 2025-03-31, the session's own `shipping_details` before it."""
    shipping = (data.get("collected_information") or {}).get("shipping_details") or data.get(
        "shipping_details"
    )
    if not shipping:
        return None
    address = shipping.get("address") or {}
    return ShippingAddress(
        name=shipping.get("name"),
        line1=address.get("line1"),
        line2=address.get("line2"),
        city=address.get("city"),
        state=address.get("state"),
        postal_code=address.get("postal_code"),
        country=address.get("country"),
    )


class StripeGateway:
    def __init__(self, settings: CheckoutSettings) -> None:
        self._settings = settings
        self._client: stripe.StripeClient | None = None
        self._http: stripe.AIOHTTPClient | None = None

    def _stripe(self) -> stripe.StripeClient:
        # Built on first use, in the loop that uses it: creating the app does no I/O and opens
        # no connection pool, and a forked worker builds its own.
        if self._client is None:
            options: dict[str, Any] = {}
            if self._settings.stripe_api_base:
                options["base_addresses"] = {"api": self._settings.stripe_api_base}
            # The SDK's aiohttp client spends half the CPU of its httpx one per call (0.6 vs
            # 1.1-1.5 ms a session created, measured here), and every Buy makes one.
            self._http = stripe.AIOHTTPClient(timeout=self._settings.stripe_timeout_seconds)
            self._client = stripe.StripeClient(
                self._settings.stripe_api_key,
                http_client=self._http,
                max_network_retries=self._settings.stripe_max_network_retries,
                **options,
            )
        return self._client

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close_async()
            self._client = self._http = None

    async def create_session(self, request: SessionRequest) -> CheckoutSession:
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": self._settings.currency,
                        "unit_amount": line.unit_amount_pence,
                        "product_data": {"name": line.name},
                    },
                    "quantity": line.quantity,
                }
                for line in request.lines
            ],
            "metadata": request.metadata,
            # The payment's own metadata names the order too, so charge and refund events
            # (which carry the charge, not the session) find it.
            "payment_intent_data": {"metadata": request.metadata},
            "client_reference_id": request.client_reference_id,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": request.expires_at,
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        if request.shipping_countries:
            params["shipping_address_collection"] = {
                "allowed_countries": list(request.shipping_countries)
            }
        with _translated("create a Checkout Session"):
            session = await self._stripe().v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        return session_from(session)

    async def retrieve_session(self, session_id: str) -> CheckoutSession:
        with _translated("read the Checkout Session"):
            session = await self._stripe().v1.checkout.sessions.retrieve_async(session_id)
        return session_from(session)

    async def expire_session(self, session_id: str) -> CheckoutSession:
        """Expire an open session; a session already complete or expired is returned as it is."""
        try:
            with _translated("expire the Checkout Session"):
                session = await self._stripe().v1.checkout.sessions.expire_async(session_id)
        except PaymentRequestRefused:
            return await self.retrieve_session(session_id)
        return session_from(session)

    async def refund(
        self, *, payment_intent: str, amount_pence: int | None, idempotency_key: str, order_id: str
    ) -> RefundMade:
        params: dict[str, Any] = {
            "payment_intent": payment_intent,
            "metadata": {"order_id": order_id},
            "expand": ["charge"],
        }
        if amount_pence is not None:
            params["amount"] = amount_pence
        with _translated("refund the payment"):
            refund = await self._stripe().v1.refunds.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        return RefundMade(
            id=str(refund["id"]),
            amount_pence=int(refund["amount"]),
            charge_refunded_pence=int(refund["charge"]["amount_refunded"]),
        )

    def verify_webhook(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        if not signature:
            raise BadWebhook("The Stripe-Signature header is missing.")
        try:
            stripe.Webhook.construct_event(payload, signature, self._settings.stripe_webhook_secret)
        except stripe_errors.SignatureVerificationError as error:
            raise BadWebhook(f"The webhook signature does not verify: {error}") from None
        except ValueError as error:
            raise BadWebhook(f"The webhook body is not a Stripe event: {error}") from None
        # Verified: the plain JSON is what the handlers read.
        event = json.loads(payload)
        if not isinstance(event, dict) or "id" not in event or "type" not in event:
            raise BadWebhook("The webhook body is not a Stripe event.")
        return event


@contextmanager
def _translated(doing: str) -> Iterator[None]:
    """Stripe's errors as ours: retry later (503), or a refusal that needs a person (422)."""
    try:
        yield
    except (
        stripe_errors.APIConnectionError,
        stripe_errors.RateLimitError,
        stripe_errors.APIError,
    ) as error:
        log.warning("Stripe could not %s: %s", doing, error)
        raise PaymentProviderUnavailable(
            f"The payment provider could not {doing} just now; please try again in a minute.",
            retry_after_seconds=30,
        ) from error
    except stripe_errors.StripeError as error:
        if (error.http_status or 0) >= 500:
            raise PaymentProviderUnavailable(
                f"The payment provider could not {doing} just now; please try again in a minute.",
                retry_after_seconds=30,
            ) from error
        raise PaymentRequestRefused(
            f"The payment provider refused to {doing}: {error.user_message or error}"
        ) from error
