"""Object shapes as in Stripe's API reference, test mode only."""

import secrets
import string
from typing import Any

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(length))}"


def format_amount(amount: int, currency: str) -> str:
    """As Stripe writes amounts in messages: `£12.50`."""
    symbol = {"gbp": "£", "usd": "$", "eur": "€"}.get(currency, currency.upper() + " ")
    return f"{symbol}{amount / 100:,.2f}"


def list_object(data: list[dict[str, Any]], *, url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def line_item(
    raw: dict[str, Any], *, currency: str, unit_amount: int, quantity: int
) -> dict[str, Any]:
    amount = unit_amount * quantity
    name = raw["price_data"]["product_data"]["name"]
    return {
        "id": new_id("li"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": currency,
        "description": name,
        "quantity": quantity,
        "price": {
            "id": new_id("price"),
            "object": "price",
            "currency": currency,
            "unit_amount": unit_amount,
            "product": new_id("prod"),
            "type": "one_time",
            "livemode": False,
        },
    }


def checkout_session(
    params: dict[str, Any],
    *,
    shipping_address_collection: dict[str, Any] | None,
    session_id: str,
    amount: int,
    currency: str,
    created: int,
    expires_at: int,
    url: str,
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        # Filled on completion; `shipping_details` lives here since API version 2025-03-31.
        "collected_information": None,
        "created": created,
        "currency": currency,
        "customer": None,
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "expires_at": expires_at,
        "livemode": False,
        "metadata": params.get("metadata", {}),
        "mode": "payment",
        "payment_intent": None,
        "payment_method_types": ["card", "customer_balance"],
        "payment_status": "unpaid",
        "shipping_address_collection": shipping_address_collection,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "success_url": params["success_url"],
        "ui_mode": "hosted",
        "url": url,
    }


def payment_intent(
    *, amount: int, currency: str, metadata: dict[str, str], status: str, created: int
) -> dict[str, Any]:
    return {
        "id": new_id("pi"),
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "capture_method": "automatic",
        "created": created,
        "currency": currency,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "payment_method_types": ["card", "customer_balance"],
        "status": status,
    }


def charge(intent: dict[str, Any], *, created: int) -> dict[str, Any]:
    charge_id = new_id("ch")
    return {
        "id": charge_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"],
        "amount_refunded": 0,
        "captured": True,
        "created": created,
        "currency": intent["currency"],
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "paid": True,
        "payment_intent": intent["id"],
        "refunded": False,
        "refunds": list_object([], url=f"/v1/charges/{charge_id}/refunds") | {"total_count": 0},
        "status": "succeeded",
    }


def refund(
    source: dict[str, Any],
    *,
    amount: int,
    reason: str | None,
    metadata: dict[str, str],
    created: int,
) -> dict[str, Any]:
    return {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "charge": source["id"],
        "created": created,
        "currency": source["currency"],
        "metadata": metadata,
        "payment_intent": source["payment_intent"],
        "reason": reason,
        "status": "succeeded",
    }


def event(
    event_type: str,
    data_object: dict[str, Any],
    *,
    created: int,
    api_version: str,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }


def webhook_endpoint(
    *, url: str, enabled_events: list[str], api_version: str, created: int
) -> dict[str, Any]:
    return {
        "id": new_id("we"),
        "object": "webhook_endpoint",
        "api_version": api_version,
        "created": created,
        "enabled_events": enabled_events,
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": url,
    }
