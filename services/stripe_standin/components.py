"""The parts of one running stand-in, reachable from every handler through `app.state`."""

from dataclasses import dataclass
from typing import cast

from litestar import Request

from services.stripe_standin.faults import FaultPlan
from services.stripe_standin.idempotency import IdempotencyStore
from services.stripe_standin.settings import StripeStandinSettings
from services.stripe_standin.state import StandinState
from services.stripe_standin.webhooks import WebhookDispatcher


@dataclass
class Standin:
    settings: StripeStandinSettings
    state: StandinState
    idempotency: IdempotencyStore
    faults: FaultPlan
    webhooks: WebhookDispatcher

    def reset(self) -> None:
        self.state.reset()
        self.idempotency.reset()
        self.faults.clear()
        self.webhooks.reset()


def standin_of(request: Request) -> Standin:
    return cast(Standin, request.app.state.standin)
