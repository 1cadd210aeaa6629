"""The official stripe SDK against the stand-in over HTTP: the protocol the checkout service uses."""

import json
import time
from typing import Any

import httpx
import pytest
import stripe
from conftest import WEBHOOK_SECRET, RunningStandin, WebhookReceiver
from standin_page import READER_ADDRESS

pytestmark = pytest.mark.integration


def session_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": 1299,
                    "product_data": {"name": "The Ragged Trousered Philanthropists"},
                },
                "quantity": 2,
            },
            {
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": 850,
                    "product_data": {"name": "Wigan Pier"},
                },
                "quantity": 1,
            },
        ],
        "metadata": {"order_id": "ord-42"},
        "payment_intent_data": {"metadata": {"order_id": "ord-42"}},
        "client_reference_id": "ord-42",
        "customer_email": "reader@example.org",
        "success_url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/basket",
        "expires_at": int(time.time()) + 45 * 60,
    }
    return params | overrides


def pay(standin: RunningStandin, session_id: str, action: str = "pay") -> httpx.Response:
    return httpx.post(f"{standin.base_url}/pay/{session_id}", data={"action": action})


def verified_events(receiver: WebhookReceiver, count: int) -> list[stripe.Event]:
    return [
        stripe.Webhook.construct_event(body, signature, WEBHOOK_SECRET)
        for signature, body in receiver.wait_for(count)[:count]
    ]


def test_a_session_is_created_with_stripes_shape_and_a_hosted_page(standin: RunningStandin) -> None:
    session = standin.client().v1.checkout.sessions.create(session_params())

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert (session.amount_total, session.amount_subtotal, session.currency) == (3448, 3448, "gbp")
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.metadata["order_id"] == "ord-42"
    assert session.url == f"{standin.base_url}/pay/{session.id}"
    page = httpx.get(session.url)
    assert "Wigan Pier" in page.text and "£34.48" in page.text
    assert 'value="pay"' in page.text and "Pay by bank transfer" in page.text
    items = standin.client().v1.checkout.sessions.line_items.list(session.id)
    assert [(i.description, i.quantity, i.amount_total) for i in items.data] == [
        ("The Ragged Trousered Philanthropists", 2, 2598),
        ("Wigan Pier", 1, 850),
    ]


def test_one_idempotency_key_makes_one_session_and_refuses_other_parameters(
    standin: RunningStandin,
) -> None:
    client = standin.client()
    params = session_params()
    options: Any = {"idempotency_key": "order-ord-42-session"}

    first = client.v1.checkout.sessions.create(params, options)
    second = client.v1.checkout.sessions.create(params, options)

    assert second.id == first.id
    assert second.last_response is not None
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError, match="same parameters"):
        client.v1.checkout.sessions.create(session_params(client_reference_id="other"), options)


@pytest.mark.parametrize("minutes", [29, 24 * 60 + 1])
def test_expiry_outside_30_minutes_to_24_hours_is_refused(
    standin: RunningStandin, minutes: int
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        standin.client().v1.checkout.sessions.create(
            session_params(expires_at=int(time.time()) + minutes * 60)
        )
    assert raised.value.param == "expires_at"
    assert raised.value.http_status == 400


def test_a_missing_session_is_a_404_invalid_request(standin: RunningStandin) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        standin.client().v1.checkout.sessions.retrieve("cs_test_nope")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")


def test_expiring_an_open_session_emits_an_event_and_a_second_expiry_is_refused(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    client = standin.client()
    session = client.v1.checkout.sessions.create(session_params())

    expired = client.v1.checkout.sessions.expire(session.id)

    assert (expired.status, expired.url) == ("expired", None)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    assert pay(standin, session.id).status_code == 400
    with pytest.raises(stripe.InvalidRequestError, match="status of `expired`"):
        client.v1.checkout.sessions.expire(session.id)
    [event] = verified_events(receiver, 1)
    assert event.type == "checkout.session.expired"
    assert event.data.object["id"] == session.id


def test_a_paid_session_is_not_expired_and_an_unknown_one_is_missing(
    standin: RunningStandin,
) -> None:
    client = standin.client()
    session = client.v1.checkout.sessions.create(session_params())
    assert pay(standin, session.id).status_code == 303

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.expire(session.id)

    assert refused.value.http_status == 400
    assert refused.value.error is not None and refused.value.error.type == "invalid_request_error"
    assert refused.value.user_message == (
        'Only Checkout Sessions with a status in ["open"] can be expired. '
        "This Checkout Session has a status of `complete`."
    )
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"
    assert [e.type for e in client.v1.events.list().data] == ["checkout.session.completed"]
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.expire("cs_test_nope")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


def test_the_clock_passing_expires_at_expires_the_session(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    session = standin.client().v1.checkout.sessions.create(session_params())

    standin.control("POST", f"/sessions/{session.id}/expire_now")

    [event] = verified_events(receiver, 1)
    assert (event.type, event.data.object["status"]) == ("checkout.session.expired", "expired")
    assert pay(standin, session.id).status_code == 400


def test_paying_by_card_completes_the_session_and_sends_a_signed_event(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    client = standin.client()
    session = client.v1.checkout.sessions.create(session_params())

    response = pay(standin, session.id)

    assert response.status_code == 303
    assert response.headers["location"] == f"https://shop.example/thanks?session={session.id}"
    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)
    assert (intent.status, intent.amount_received) == ("succeeded", 3448)
    assert intent.metadata["order_id"] == "ord-42"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.id[:3], charge.status, charge.paid, charge.amount) == (
        "ch_",
        "succeeded",
        True,
        3448,
    )
    [event] = verified_events(receiver, 1)
    assert event.id.startswith("evt_") and event.type == "checkout.session.completed"
    assert event.data.object["payment_status"] == "paid"
    assert event.data.object["client_reference_id"] == "ord-42"
    assert client.v1.events.retrieve(event.id).type == "checkout.session.completed"


SHIPPING_FORM = {"email": "rosa@example.org", **READER_ADDRESS}


def test_a_shipping_address_collected_on_the_page_reaches_the_session_and_the_event(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    client = standin.client()
    session = client.v1.checkout.sessions.create(
        session_params(shipping_address_collection={"allowed_countries": ["GB"]})
    )
    assert session.shipping_address_collection is not None
    assert session.shipping_address_collection.allowed_countries == ["GB"]
    assert session.collected_information is None

    unaddressed = pay(standin, session.id)
    paid = httpx.post(
        f"{standin.base_url}/pay/{session.id}", data={"action": "pay", **SHIPPING_FORM}
    )

    assert unaddressed.status_code == 400
    assert paid.status_code == 303
    completed = client.v1.checkout.sessions.retrieve(session.id)
    assert completed.collected_information is not None
    shipping = completed.collected_information.shipping_details
    assert shipping is not None
    assert shipping.name == "Rosa Reader"
    assert (
        shipping.address.line1,
        shipping.address.line2,
        shipping.address.city,
        shipping.address.postal_code,
        shipping.address.country,
        shipping.address.state,
    ) == ("1 Red Lane", "Flat 2", "London", "N1 1AA", "GB", None)
    [event] = verified_events(receiver, 1)
    assert event.type == "checkout.session.completed"
    delivered = event.data.object["collected_information"]["shipping_details"]
    assert delivered.to_dict() == shipping.to_dict()


@pytest.mark.parametrize("countries", [["GB", "XX"], ["IR"]])
def test_shipping_countries_stripe_does_not_ship_to_are_refused(
    standin: RunningStandin, countries: list[str]
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        standin.client().v1.checkout.sessions.create(
            session_params(shipping_address_collection={"allowed_countries": countries})
        )
    index = len(countries) - 1
    assert raised.value.http_status == 400
    assert raised.value.param == f"shipping_address_collection[allowed_countries][{index}]"
    assert "must be one of AC, AD" in str(raised.value)


def test_a_tampered_delivery_fails_verification(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    pay(standin, standin.client().v1.checkout.sessions.create(session_params()).id)
    signature, body = receiver.wait_for(1)[0]

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"paid", b"free"), signature, WEBHOOK_SECRET)


def test_cancel_returns_to_the_shop_and_leaves_the_session_open(standin: RunningStandin) -> None:
    session = standin.client().v1.checkout.sessions.create(session_params())

    response = pay(standin, session.id, action="cancel")

    assert (response.status_code, response.headers["location"]) == (
        303,
        "https://shop.example/basket",
    )
    assert standin.client().v1.checkout.sessions.retrieve(session.id).status == "open"


@pytest.mark.parametrize(
    ("outcome", "event_type", "payment_status"),
    [
        ("succeeded", "checkout.session.async_payment_succeeded", "paid"),
        ("failed", "checkout.session.async_payment_failed", "unpaid"),
    ],
)
def test_a_bank_transfer_completes_unpaid_then_settles(
    standin: RunningStandin,
    receiver: WebhookReceiver,
    outcome: str,
    event_type: str,
    payment_status: str,
) -> None:
    client = standin.client()
    session = client.v1.checkout.sessions.create(session_params())

    assert pay(standin, session.id, action="bank_transfer").status_code == 303
    pending = client.v1.checkout.sessions.retrieve(session.id)
    assert (pending.status, pending.payment_status) == ("complete", "unpaid")
    assert client.v1.payment_intents.retrieve(pending.payment_intent).status == "processing"
    standin.control("POST", f"/sessions/{session.id}/settle", json={"outcome": outcome})

    completed, settled = verified_events(receiver, 2)
    assert completed.type == "checkout.session.completed"
    assert (settled.type, settled.data.object["payment_status"]) == (event_type, payment_status)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == payment_status


def test_refunds_partial_then_full_then_over_refund_is_refused(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    client = standin.client()
    session = client.v1.checkout.sessions.create(session_params())
    pay(standin, session.id)
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent

    partial = client.v1.refunds.create(
        {
            "payment_intent": intent_id,
            "amount": 850,
            "reason": "requested_by_customer",
            "metadata": {"order_id": "ord-42"},
        }
    )
    rest = client.v1.refunds.create({"payment_intent": intent_id})

    assert partial.id.startswith("re_") and (partial.amount, partial.status) == (850, "succeeded")
    assert rest.amount == 3448 - 850
    assert client.v1.refunds.retrieve(partial.id).metadata["order_id"] == "ord-42"
    charge = client.v1.charges.retrieve(partial.charge)
    assert (charge.amount_refunded, charge.refunded) == (3448, True)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create({"payment_intent": intent_id, "amount": 1})
    assert raised.value.code == "charge_already_refunded"
    events = verified_events(receiver, 3)
    refunded = [e.data.object for e in events if e.type == "charge.refunded"]
    assert [
        (c["amount_refunded"], c["refunded"], c["refunds"]["total_count"]) for c in refunded
    ] == [
        (850, False, 1),
        (3448, True, 2),
    ]


def test_a_refund_larger_than_what_remains_is_refused(standin: RunningStandin) -> None:
    client = standin.client()
    session = client.v1.checkout.sessions.create(session_params())
    pay(standin, session.id)
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    client.v1.refunds.create({"payment_intent": intent_id, "amount": 3000})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create({"payment_intent": intent_id, "amount": 449})

    assert (raised.value.param, raised.value.code) == ("amount", "amount_too_large")
    assert "£4.48" in str(raised.value)


def test_events_are_listed_newest_first(standin: RunningStandin) -> None:
    client = standin.client()
    first = client.v1.checkout.sessions.create(session_params())
    second = client.v1.checkout.sessions.create(session_params())
    client.v1.checkout.sessions.expire(first.id)
    client.v1.checkout.sessions.expire(second.id)

    events = client.v1.events.list({"limit": 1})
    assert events.has_more is True
    everything = [e.data.object["id"] for e in client.v1.events.list().auto_paging_iter()]
    assert everything == [second.id, first.id]
    assert events.data[0].request["id"].startswith("req_")


def test_without_a_test_key_the_api_answers_401(standin: RunningStandin) -> None:
    response = httpx.get(f"{standin.base_url}/v1/events")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    live = stripe.StripeClient("sk_live_nope", base_addresses={"api": standin.base_url})
    with pytest.raises(stripe.AuthenticationError):
        live.v1.events.list()


def test_an_injected_500_raises_api_error_once(standin: RunningStandin) -> None:
    standin.control("POST", "/faults", json={"path": "/v1/checkout/sessions", "kind": "error"})
    client = standin.client()

    with pytest.raises(stripe.APIError) as raised:
        client.v1.checkout.sessions.create(session_params())

    assert raised.value.http_status == 500
    assert json.loads(raised.value.http_body or "")["error"]["type"] == "api_error"
    assert client.v1.checkout.sessions.create(session_params()).status == "open"


def test_a_hang_times_the_sdk_out_and_the_retry_replays_the_request_that_happened(
    standin: RunningStandin,
) -> None:
    standin.control(
        "POST", "/faults", json={"path": "/v1/checkout/sessions", "kind": "hang", "seconds": 1.5}
    )
    params, options = session_params(), {"idempotency_key": "order-slow-session"}

    with pytest.raises(stripe.APIConnectionError):
        standin.client(timeout=0.5).v1.checkout.sessions.create(params, options)  # type: ignore[arg-type]
    time.sleep(1.5)  # the hung request finishes on the server after the client gave up
    retried = standin.client().v1.checkout.sessions.create(params, options)  # type: ignore[arg-type]

    assert retried.last_response is not None
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"


async def test_the_async_sdk_over_httpx_works_too(standin: RunningStandin) -> None:
    client = stripe.StripeClient(
        "sk_test_integration",
        base_addresses={"api": standin.base_url},
        http_client=stripe.HTTPXClient(timeout=5),
    )

    session = await client.v1.checkout.sessions.create_async(session_params())
    fetched = await client.v1.checkout.sessions.retrieve_async(session.id)

    assert (fetched.id, fetched.status) == (session.id, "open")
