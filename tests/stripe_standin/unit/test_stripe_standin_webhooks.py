import asyncio
import json
import time

import httpx
import stripe

from services.stripe_standin.webhooks import WebhookDispatcher

EVENT = {
    "id": "evt_1",
    "object": "event",
    "type": "checkout.session.completed",
    "data": {"object": {"id": "cs_test_1"}},
}
ENDPOINT = ({"id": "we_1", "url": "http://receiver/hook"}, "whsec_unit")


def dispatcher(answers: list[int | Exception], delivered: list[str]) -> WebhookDispatcher:
    def answer(request: httpx.Request) -> httpx.Response:
        stripe.Webhook.construct_event(
            request.content, request.headers["Stripe-Signature"], "whsec_unit"
        )
        outcome = answers.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome)

    return WebhookDispatcher(
        retry_delays=[0.0, 0.0],
        timeout_seconds=1,
        on_delivered=delivered.append,
        transport=httpx.MockTransport(answer),
    )


async def test_failures_and_connection_errors_are_retried_until_success() -> None:
    delivered: list[str] = []
    webhooks = dispatcher([500, httpx.ConnectError("refused"), 204], delivered)

    webhooks.deliver(EVENT, [ENDPOINT])
    await webhooks.idle()

    [delivery] = webhooks.deliveries
    assert delivery.outcome == "delivered"
    assert [a.status for a in delivery.attempts] == [500, None, 204]
    assert "refused" in (delivery.attempts[1].error or "")
    assert delivered == ["evt_1"]
    await webhooks.aclose()


async def test_delivery_gives_up_after_the_last_retry() -> None:
    delivered: list[str] = []
    webhooks = dispatcher([500, 500, 500], delivered)

    webhooks.deliver(EVENT, [ENDPOINT])
    await webhooks.idle()

    assert webhooks.deliveries[0].outcome == "failed"
    assert len(webhooks.deliveries[0].attempts) == 3
    assert delivered == []
    await webhooks.aclose()


async def test_the_body_is_the_event_as_json_and_delivery_does_not_block_the_caller() -> None:
    bodies: list[bytes] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.2)
        bodies.append(request.content)
        return httpx.Response(200)

    webhooks = WebhookDispatcher(
        retry_delays=[],
        timeout_seconds=1,
        on_delivered=lambda _: None,
        transport=httpx.MockTransport(slow),
    )
    started = time.monotonic()
    webhooks.deliver(EVENT, [ENDPOINT])
    assert time.monotonic() - started < 0.1
    await webhooks.idle()

    assert json.loads(bodies[0]) == EVENT
    await webhooks.aclose()
