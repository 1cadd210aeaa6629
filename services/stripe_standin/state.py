"""The stand-in's account: sessions, payments, refunds and events, held in memory.

Every operation takes the lock, so hosted pages, API calls, the expiry sweep and webhook
bookkeeping may run from any thread or task.
"""

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.stripe_standin import objects
from services.stripe_standin.errors import (
    StripeError,
    invalid_param,
    missing_param,
    missing_resource,
)
from services.stripe_standin.params import integer_param
from services.stripe_standin.shipping import ShippingAddress, shipping_collection

MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 60 * 60
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
SESSION_PARAMS = frozenset(
    {
        "mode",
        "line_items",
        "metadata",
        "success_url",
        "cancel_url",
        "expires_at",
        "customer_email",
        "client_reference_id",
        "payment_intent_data",
        "payment_method_types",
        "shipping_address_collection",
        "expand",
    }
)


@dataclass(frozen=True)
class Customer:
    """The payer's details typed on the hosted page (Stripe Checkout always asks for an email,
    and for a shipping address when the session collects one)."""

    email: str | None = None
    name: str | None = None
    shipping: ShippingAddress | None = None


@dataclass(frozen=True)
class RequestContext:
    """What an event's `request` field reports: the API request that caused it, if any."""

    id: str | None = None
    idempotency_key: str | None = None


EventSink = Callable[[dict[str, Any], list[tuple[dict[str, Any], str]]], None]
"""Receives each new event with the (endpoint, signing secret) pairs that subscribe to it."""


class StandinState:
    def __init__(
        self, *, public_base_url: str, api_version: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._public_base_url = public_base_url.rstrip("/")
        self._api_version = api_version
        self._clock = clock
        self._lock = threading.RLock()
        self._event_sink: EventSink | None = None
        self._objects: dict[str, dict[str, Any]] = {}
        self._line_items: dict[str, list[dict[str, Any]]] = {}
        self._intent_metadata: dict[str, dict[str, str]] = {}
        self._events: list[dict[str, Any]] = []
        self._endpoint_secrets: dict[str, str] = {}
        self._permanent_endpoints: dict[str, dict[str, Any]] = {}

    def subscribe(self, sink: EventSink) -> None:
        self._event_sink = sink

    def now(self) -> int:
        return int(self._clock())

    # --- objects ---------------------------------------------------------------------------

    def retrieve(
        self, object_id: str, kind: str, expand: list[str] | None = None
    ) -> dict[str, Any]:
        with self._lock:
            found = self._objects.get(object_id)
            if found is None or found["object"] != kind:
                raise missing_resource(kind, object_id)
            result = copy.deepcopy(found)
            for path in expand or []:
                self._expand(result, path.split("."))
            return result

    def _expand(self, node: dict[str, Any], path: list[str]) -> None:
        field, rest = path[0], path[1:]
        value = node.get(field)
        if isinstance(value, str) and value in self._objects:
            node[field] = value = copy.deepcopy(self._objects[value])
        if rest and isinstance(value, dict):
            self._expand(value, rest)

    # --- checkout sessions -----------------------------------------------------------------

    def create_session(self, params: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        for name in params:
            if name not in SESSION_PARAMS:
                raise StripeError(
                    f"Received unknown parameter: {name}", code="parameter_unknown", param=name
                )
        if params.get("mode") != "payment":
            raise invalid_param("mode", "The stand-in supports only `mode=payment`.")
        if "success_url" not in params:
            raise missing_param("success_url")
        raw_items = params.get("line_items")
        if not isinstance(raw_items, list) or not raw_items:
            raise missing_param("line_items")
        now = self.now()
        items = [_line_item(raw, index) for index, raw in enumerate(raw_items)]
        currencies = {item["currency"] for item in items}
        if len(currencies) > 1:
            raise invalid_param("line_items", "All line items must use the same currency.")
        expires_at = integer_param(params.get("expires_at", now + MAX_EXPIRY_SECONDS), "expires_at")
        if expires_at < now + MIN_EXPIRY_SECONDS:
            raise invalid_param(
                "expires_at",
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
                "creation.",
            )
        if expires_at > now + MAX_EXPIRY_SECONDS:
            raise invalid_param(
                "expires_at",
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session "
                "creation.",
            )
        shipping = shipping_collection(params)
        session_id = objects.new_id("cs_test", 58)
        session = objects.checkout_session(
            params,
            shipping_address_collection=shipping,
            session_id=session_id,
            amount=sum(i["amount_total"] for i in items),
            currency=currencies.pop(),
            created=now,
            expires_at=expires_at,
            url=f"{self._public_base_url}/pay/{session_id}",
        )
        with self._lock:
            self._objects[session_id] = session
            self._intent_metadata[session_id] = params.get("payment_intent_data", {}).get(
                "metadata", {}
            )
            self._line_items[session_id] = items
        return self.retrieve(session_id, "checkout.session")

    def session_line_items(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            self.retrieve(session_id, "checkout.session")
            return objects.list_object(
                copy.deepcopy(self._line_items[session_id]),
                url=f"/v1/checkout/sessions/{session_id}/line_items",
            )

    def expire_session(self, session_id: str, context: RequestContext) -> dict[str, Any]:
        with self._lock:
            session = self._open_session(session_id, "expired")
            session.update(status="expired", url=None)
            self._emit("checkout.session.expired", session, context)
            return self.retrieve(session_id, "checkout.session")

    def expire_due_sessions(self) -> list[str]:
        """What Stripe's clock does at `expires_at`; called by the background sweep."""
        with self._lock:
            due = [
                o["id"]
                for o in self._objects.values()
                if o["object"] == "checkout.session"
                and o["status"] == "open"
                and o["expires_at"] <= self.now()
            ]
            for session_id in due:
                self.expire_session(session_id, RequestContext())
            return due

    def pay_by_card(self, session_id: str, customer: Customer | None = None) -> dict[str, Any]:
        with self._lock:
            session = self._open_session(session_id, "paid")
            _check_shipping(session, customer)
            intent = self._new_intent(session, status="succeeded")
            self._new_charge(intent)
            session.update(status="complete", payment_status="paid", url=None)
            self._complete(session, intent, customer)
            self._emit("checkout.session.completed", session, RequestContext())
            return self.retrieve(session_id, "checkout.session")

    def pay_by_bank_transfer(
        self, session_id: str, customer: Customer | None = None
    ) -> dict[str, Any]:
        """Completes the session with the money still to arrive, as delayed methods do."""
        with self._lock:
            session = self._open_session(session_id, "paid")
            _check_shipping(session, customer)
            intent = self._new_intent(session, status="processing")
            session.update(status="complete", payment_status="unpaid", url=None)
            self._complete(session, intent, customer)
            self._emit("checkout.session.completed", session, RequestContext())
            return self.retrieve(session_id, "checkout.session")

    def settle_bank_transfer(self, session_id: str, *, succeeded: bool) -> dict[str, Any]:
        with self._lock:
            session = self.retrieve(session_id, "checkout.session")
            intent_id = session["payment_intent"]
            intent = self._objects.get(intent_id) if intent_id else None
            if intent is None or intent["status"] != "processing":
                raise StripeError(
                    f"Checkout Session {session_id} has no bank transfer awaiting settlement.",
                    code="payment_intent_unexpected_state",
                )
            session = self._objects[session_id]
            if succeeded:
                intent.update(status="succeeded", amount_received=intent["amount"])
                self._new_charge(intent)
                session["payment_status"] = "paid"
                self._emit("checkout.session.async_payment_succeeded", session, RequestContext())
            else:
                intent.update(
                    status="requires_payment_method",
                    last_payment_error={"type": "card_error", "message": "The transfer failed."},
                )
                self._emit("checkout.session.async_payment_failed", session, RequestContext())
            return self.retrieve(session_id, "checkout.session")

    def _open_session(self, session_id: str, wanted: str) -> dict[str, Any]:
        self.retrieve(session_id, "checkout.session")
        session = self._objects[session_id]
        if session["status"] != "open":
            # Stripe's own words to an expire, backticks and all.
            raise StripeError(
                f'Only Checkout Sessions with a status in ["open"] can be {wanted}. This '
                f"Checkout Session has a status of `{session['status']}`.",
                code="checkout_session_not_open" if wanted == "paid" else None,
            )
        return session

    def _new_intent(self, session: dict[str, Any], *, status: str) -> dict[str, Any]:
        intent = objects.payment_intent(
            amount=session["amount_total"],
            currency=session["currency"],
            metadata=dict(self._intent_metadata[session["id"]]),
            status=status,
            created=self.now(),
        )
        self._objects[intent["id"]] = intent
        return intent

    def _new_charge(self, intent: dict[str, Any]) -> dict[str, Any]:
        charge = objects.charge(intent, created=self.now())
        self._objects[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        return charge

    @staticmethod
    def _complete(
        session: dict[str, Any], intent: dict[str, Any], customer: Customer | None
    ) -> None:
        """What the payer typed on the page, in the shape of Stripe's `customer_details` and
        `collected_information`."""
        session["payment_intent"] = intent["id"]
        given = customer or Customer()
        shipping = given.shipping if session["shipping_address_collection"] else None
        session["customer_details"] = {
            "email": given.email or session["customer_email"],
            "name": given.name or (shipping.name if shipping else None),
            "phone": None,
            # Billing is the shipping address: the box Stripe's page ticks by default.
            "address": shipping.address() if shipping else None,
            "tax_exempt": "none",
            "tax_ids": [],
        }
        session["collected_information"] = {
            "business_name": None,
            "individual_name": None,
            "shipping_details": shipping.details() if shipping else None,
        }

    # --- refunds ---------------------------------------------------------------------------

    def create_refund(self, params: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        with self._lock:
            charge = self._refundable_charge(params)
            remaining = charge["amount"] - charge["amount_refunded"]
            if remaining == 0:
                raise StripeError(
                    f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = integer_param(params.get("amount", remaining), "amount")
            if amount <= 0:
                raise invalid_param("amount", "Refund amount must be a positive integer.")
            if amount > remaining:
                raise StripeError(
                    f"Refund amount ({objects.format_amount(amount, charge['currency'])}) is greater than "
                    f"unrefunded amount on charge ({objects.format_amount(remaining, charge['currency'])})",
                    code="amount_too_large",
                    param="amount",
                )
            reason = params.get("reason")
            if reason is not None and reason not in REFUND_REASONS:
                raise invalid_param(
                    "reason", f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}"
                )
            refund = objects.refund(
                charge,
                amount=amount,
                reason=reason,
                metadata=params.get("metadata", {}),
                created=self.now(),
            )
            self._objects[refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            refunds = charge["refunds"]
            refunds["data"].insert(0, copy.deepcopy(refund))
            refunds["total_count"] += 1
            self._emit("charge.refunded", charge, context)
            created = copy.deepcopy(refund)
            for path in params.get("expand") or []:
                self._expand(created, path.split("."))
            return created

    def _refundable_charge(self, params: dict[str, Any]) -> dict[str, Any]:
        if "charge" in params:
            return self._objects[self.retrieve(params["charge"], "charge")["id"]]
        if "payment_intent" not in params:
            raise StripeError(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        intent = self.retrieve(params["payment_intent"], "payment_intent")
        if intent["latest_charge"] is None:
            raise StripeError(
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        return self._objects[intent["latest_charge"]]

    # --- events and endpoints --------------------------------------------------------------

    def add_webhook_endpoint(
        self, params: dict[str, Any], *, secret: str | None = None, permanent: bool = False
    ) -> dict[str, Any]:
        """Registers an endpoint; the response alone carries its signing secret, as Stripe's."""
        if "url" not in params:
            raise missing_param("url")
        enabled = params.get("enabled_events")
        if not isinstance(enabled, list) or not enabled:
            raise missing_param("enabled_events")
        endpoint = objects.webhook_endpoint(
            url=params["url"],
            enabled_events=enabled,
            api_version=self._api_version,
            created=self.now(),
        )
        secret = secret or objects.new_id("whsec", 32)
        with self._lock:
            self._objects[endpoint["id"]] = endpoint
            self._endpoint_secrets[endpoint["id"]] = secret
            if permanent:
                self._permanent_endpoints[endpoint["id"]] = endpoint
        return copy.deepcopy(endpoint) | {"secret": secret}

    def list_events(
        self, *, limit: int = 10, starting_after: str | None = None, type: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            newest_first = [e for e in reversed(self._events) if type in (None, e["type"])]
            if starting_after is not None:
                ids = [e["id"] for e in newest_first]
                if starting_after not in ids:
                    raise missing_resource("event", starting_after, "starting_after")
                newest_first = newest_first[ids.index(starting_after) + 1 :]
            page = copy.deepcopy(newest_first[:limit])
            return objects.list_object(page, url="/v1/events", has_more=len(newest_first) > limit)

    def subscribers(self, event: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        with self._lock:
            return [
                (copy.deepcopy(endpoint), self._endpoint_secrets[endpoint["id"]])
                for endpoint in self._objects.values()
                if endpoint["object"] == "webhook_endpoint"
                and endpoint["status"] == "enabled"
                and (
                    "*" in endpoint["enabled_events"] or event["type"] in endpoint["enabled_events"]
                )
            ]

    def mark_delivered(self, event_id: str) -> None:
        with self._lock:
            event = self._objects.get(event_id)
            if event is not None and event["pending_webhooks"] > 0:
                event["pending_webhooks"] -= 1

    def _emit(self, event_type: str, data_object: dict[str, Any], context: RequestContext) -> None:
        event = objects.event(
            event_type,
            copy.deepcopy(data_object),
            created=self.now(),
            api_version=self._api_version,
            pending_webhooks=0,
            request_id=context.id,
            idempotency_key=context.idempotency_key,
        )
        subscribers = self.subscribers(event)
        event["pending_webhooks"] = len(subscribers)
        self._objects[event["id"]] = event
        self._events.append(event)
        if self._event_sink is not None:
            self._event_sink(copy.deepcopy(event), subscribers)

    def reset(self) -> None:
        """Forgets everything but the endpoints configured by settings."""
        with self._lock:
            self._objects = {k: v for k, v in self._permanent_endpoints.items()}
            self._endpoint_secrets = {
                k: v for k, v in self._endpoint_secrets.items() if k in self._permanent_endpoints
            }
            self._line_items.clear()
            self._intent_metadata.clear()
            self._events.clear()


def _check_shipping(session: dict[str, Any], customer: Customer | None) -> None:
    """A session that collects a shipping address completes only with one it allows."""
    collection = session["shipping_address_collection"]
    if collection is None:
        return
    shipping = customer.shipping if customer is not None else None
    if shipping is None:
        raise StripeError("This Checkout Session needs a shipping address to complete.")
    shipping.check(collection["allowed_countries"])


def _line_item(raw: Any, index: int) -> dict[str, Any]:
    prefix = f"line_items[{index}]"
    price_data = raw.get("price_data") if isinstance(raw, dict) else None
    if not isinstance(price_data, dict):
        raise missing_param(f"{prefix}[price_data]")
    for field in ("currency", "unit_amount"):
        if field not in price_data:
            raise missing_param(f"{prefix}[price_data][{field}]")
    if "name" not in price_data.get("product_data", {}):
        raise missing_param(f"{prefix}[price_data][product_data][name]")
    unit_amount = integer_param(price_data["unit_amount"], f"{prefix}[price_data][unit_amount]")
    quantity = integer_param(raw.get("quantity", "1"), f"{prefix}[quantity]")
    if unit_amount < 0 or quantity < 1:
        raise invalid_param(prefix, "Amounts must be non-negative and quantities at least 1.")
    return objects.line_item(
        raw, currency=price_data["currency"].lower(), unit_amount=unit_amount, quantity=quantity
    )
