"""Webhook delivery over real HTTP: retries, records, replays and endpoints registered by API."""

import time
from typing import Any

import httpx
import pytest
import stripe
from conftest import WEBHOOK_SECRET, RunningStandin, WebhookReceiver

pytestmark = pytest.mark.integration


def paid_session(standin: RunningStandin) -> str:
    session = standin.client().v1.checkout.sessions.create(
        {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "gbp",
                        "unit_amount": 999,
                        "product_data": {"name": "News from Nowhere"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": "https://shop.example/thanks",
        }
    )
    httpx.post(f"{standin.base_url}/pay/{session.id}", data={"action": "pay"})
    return session.id


def deliveries(standin: RunningStandin, outcome: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while True:
        found = [d for d in standin.control("GET", "/deliveries").json() if d["outcome"] == outcome]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {outcome} delivery within 5 s")
        time.sleep(0.05)


def test_a_delivery_answered_500_is_retried_until_it_succeeds(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    receiver.planned = [500, 503]

    paid_session(standin)

    attempts = receiver.wait_for(3)
    events = [stripe.Webhook.construct_event(body, sig, WEBHOOK_SECRET) for sig, body in attempts]
    assert len({e.id for e in events}) == 1
    [delivery] = deliveries(standin, "delivered")
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 200]
    assert standin.client().v1.events.retrieve(events[0].id).pending_webhooks == 0


def test_a_delivery_that_keeps_failing_is_given_up_after_the_schedule(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    receiver.planned = [500, 500, 500]

    paid_session(standin)

    [delivery] = deliveries(standin, "failed")
    assert len(delivery["attempts"]) == 3  # the first try and the two configured retries
    event = standin.client().v1.events.retrieve(delivery["event_id"])
    assert event.pending_webhooks == 1


def test_an_event_can_be_redelivered_with_the_same_id(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    paid_session(standin)
    [(_, first)] = receiver.wait_for(1)
    event_id = stripe.Webhook.construct_event(first, receiver.received[0][0], WEBHOOK_SECRET).id

    standin.control("POST", f"/events/{event_id}/redeliver")

    signature, again = receiver.wait_for(2)[1]
    assert stripe.Webhook.construct_event(again, signature, WEBHOOK_SECRET).id == event_id


def test_an_endpoint_registered_by_api_gets_only_its_events_signed_with_its_secret(
    standin: RunningStandin, receiver: WebhookReceiver
) -> None:
    client = standin.client()
    endpoint = client.v1.webhook_endpoints.create(
        {"url": receiver.url + "?refunds", "enabled_events": ["charge.refunded"]}
    )
    assert endpoint.id.startswith("we_") and endpoint.secret.startswith("whsec_")
    session_id = paid_session(standin)
    intent_id = client.v1.checkout.sessions.retrieve(session_id).payment_intent

    client.v1.refunds.create({"payment_intent": intent_id})

    received = receiver.wait_for(3)  # completed and refunded to the settings endpoint, one here
    verified_by_endpoint = []
    for signature, body in received:
        try:
            event = stripe.Webhook.construct_event(body, signature, endpoint.secret)
        except stripe.SignatureVerificationError:
            continue
        verified_by_endpoint.append(event.type)
    assert verified_by_endpoint == ["charge.refunded"]
