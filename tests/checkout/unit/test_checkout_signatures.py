"""Webhook verification: only Stripe's signature over the exact bytes lets an event in."""

from __future__ import annotations

import hmac
import json
import time
from hashlib import sha256
from typing import Any

import pytest

from services.checkout.payments import BadWebhook, StripeGateway, session_from
from services.checkout.settings import CheckoutSettings

SECRET = "whsec_unit_test"
GATEWAY = StripeGateway(CheckoutSettings(stripe_webhook_secret=SECRET, database_url="sqlite://"))
EVENT = {
    "id": "evt_1",
    "object": "event",
    "type": "checkout.session.completed",
    "data": {"object": {"id": "cs_1", "metadata": {"order_id": "x"}}},
}


def sign(payload: bytes, *, secret: str = SECRET, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_a_signed_event_is_accepted() -> None:
    payload = json.dumps(EVENT, indent=2).encode()
    assert GATEWAY.verify_webhook(payload, sign(payload)) == EVENT


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "t=1,v1=deadbeef",
        sign(b"{}"),
        sign(json.dumps(EVENT, indent=2).encode(), secret="whsec_other"),
        sign(json.dumps(EVENT, indent=2).encode(), at=int(time.time()) - 3600),
    ],
    ids=["missing", "empty", "garbage", "other-body", "other-secret", "too-old"],
)
def test_bad_signatures_are_refused(signature: str | None) -> None:
    payload = json.dumps(EVENT, indent=2).encode()
    with pytest.raises(BadWebhook) as raised:
        GATEWAY.verify_webhook(payload, signature)
    assert raised.value.status_code == 400


def test_a_body_changed_after_signing_is_refused() -> None:
    payload = json.dumps(EVENT, indent=2).encode()
    tampered = payload.replace(b"evt_1", b"evt_2")
    with pytest.raises(BadWebhook):
        GATEWAY.verify_webhook(tampered, sign(payload))


def test_a_session_is_read_from_an_event() -> None:
    session = session_from(
        {
            "id": "cs_1",
            "status": "complete",
            "payment_status": "paid",
            "expires_at": 1700000000,
            "payment_intent": "pi_1",
            "metadata": {"order_id": "abc"},
            "customer_details": {"email": "reader@example.org", "name": "Rosa"},
            "url": None,
        }
    )
    assert (session.payment_intent, session.customer_email, session.customer_name) == (
        "pi_1",
        "reader@example.org",
        "Rosa",
    )
    assert session.metadata == {"order_id": "abc"}


ADDRESS = {
    "line1": "1 Red Lane",
    "line2": None,
    "city": "London",
    "postal_code": "N1 1AA",
    "country": "GB",
    "state": None,
}


@pytest.mark.parametrize(
    "shape",
    [
        {"collected_information": {"shipping_details": {"name": "Rosa", "address": ADDRESS}}},
        {"collected_information": None, "shipping_details": {"name": "Rosa", "address": ADDRESS}},
    ],
    ids=["since 2025-03-31", "before"],
)
def test_the_shipping_address_is_read_from_either_api_versions_shape(
    shape: dict[str, Any],
) -> None:
    session = session_from({"id": "cs_1", "expires_at": 1700000000} | shape)

    assert session.shipping is not None
    assert session.shipping.name == "Rosa"
    assert session.shipping.lines() == ["1 Red Lane", "London", "N1 1AA"]


def test_an_address_abroad_keeps_its_country_and_none_is_none() -> None:
    abroad = session_from(
        {
            "id": "cs_1",
            "collected_information": {
                "shipping_details": {"name": "Clara", "address": ADDRESS | {"country": "DE"}}
            },
        }
    )
    assert abroad.shipping is not None and abroad.shipping.lines()[-1] == "DE"
    assert session_from({"id": "cs_2", "collected_information": None}).shipping is None
