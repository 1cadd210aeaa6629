"""Signed webhook delivery in the background, retried on failure, every attempt recorded."""

import asyncio
import hmac
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from hashlib import sha256
from typing import Any, Literal

import httpx

from services.stripe_standin.objects import new_id


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` value that `stripe.Webhook.construct_event` verifies."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class Attempt:
    at: float
    status: int | None
    error: str | None


@dataclass
class Delivery:
    event_id: str
    event_type: str
    endpoint_id: str
    url: str
    id: str = field(default_factory=lambda: new_id("whdel"))
    outcome: Literal["pending", "delivered", "failed"] = "pending"
    attempts: list[Attempt] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class WebhookDispatcher:
    def __init__(
        self,
        *,
        retry_delays: Sequence[float],
        timeout_seconds: float,
        on_delivered: Callable[[str], None],
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._retry_delays = list(retry_delays)
        self._on_delivered = on_delivered
        self._clock = clock
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)
        self._tasks: set[asyncio.Task[None]] = set()
        self.deliveries: list[Delivery] = []

    def deliver(self, event: dict[str, Any], subscribers: list[tuple[dict[str, Any], str]]) -> None:
        """Schedules one delivery per endpoint; must be called from the event loop's thread."""
        # Stripe sends the event pretty-printed; the signature covers these exact bytes.
        payload = json.dumps(event, indent=2)
        for endpoint, secret in subscribers:
            delivery = Delivery(
                event_id=event["id"],
                event_type=event["type"],
                endpoint_id=endpoint["id"],
                url=endpoint["url"],
            )
            self.deliveries.append(delivery)
            task = asyncio.get_running_loop().create_task(self._run(delivery, payload, secret))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, delivery: Delivery, payload: str, secret: str) -> None:
        for delay in [0.0, *self._retry_delays]:
            await asyncio.sleep(delay)
            if await self._attempt(delivery, payload, secret):
                delivery.outcome = "delivered"
                self._on_delivered(delivery.event_id)
                return
        delivery.outcome = "failed"

    async def _attempt(self, delivery: Delivery, payload: str, secret: str) -> bool:
        now = self._clock()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header(payload, secret, int(now)),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        try:
            response = await self._client.post(delivery.url, content=payload, headers=headers)
        except httpx.HTTPError as error:
            delivery.attempts.append(Attempt(at=now, status=None, error=repr(error)))
            return False
        delivery.attempts.append(Attempt(at=now, status=response.status_code, error=None))
        return response.is_success

    async def idle(self) -> None:
        """Waits until no delivery is in flight."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.deliveries.clear()

    async def aclose(self) -> None:
        self.reset()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
