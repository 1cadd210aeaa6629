"""What every service's app adds for operations: request ids, request metrics, `/metrics`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from litestar.middleware import DefineMiddleware

from shared.observability.http import ObservedRequests
from shared.observability.metrics import Refresher, metrics_controller
from shared.observability.request_metrics import RequestMetrics


@dataclass(frozen=True)
class ObservabilityLayer:
    """`Litestar(route_handlers=[..., *layer.route_handlers], middleware=[*layer.middleware, ...])`."""

    service: str
    redis_url: str
    refreshers: Sequence[Refresher] = ()

    @property
    def middleware(self) -> list[Any]:
        # Outermost, so every other middleware and every handler logs under the request id.
        return [DefineMiddleware(ObservedRequests, metrics=RequestMetrics(self.service))]

    @property
    def route_handlers(self) -> list[Any]:
        return [metrics_controller(self.redis_url, self.refreshers)]
