"""What every service's app adds for operations: request ids, request metrics, `/metrics`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.observability.http import RequestIdMiddleware
from shared.observability.metrics import Refresher, metrics_controller, prometheus_config


@dataclass(frozen=True)
class ObservabilityLayer:
    """`Litestar(route_handlers=[..., *layer.route_handlers], middleware=[*layer.middleware, ...])`."""

    service: str
    redis_url: str
    refreshers: Sequence[Refresher] = ()

    @property
    def middleware(self) -> list[Any]:
        # The request id goes outermost so the metrics middleware and every handler log under it.
        return [RequestIdMiddleware(), prometheus_config(self.service).middleware]

    @property
    def route_handlers(self) -> list[Any]:
        return [metrics_controller(self.redis_url, self.refreshers)]
