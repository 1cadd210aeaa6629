"""Request metrics per route: how many, how long, how many at once, how many failed.

Labelled by the route's path template (`/books/{isbn}`, never the ISBN itself), so the series
stay few. They are kept as plain numbers and turned into Prometheus families only when
`/metrics` is scraped: prometheus_client's own counters take a lock per update, four locks a
request, which cost more than serving a cached page. Plain numbers are safe because only the
app's event loop writes them, and the scrape reads them on that same loop.

The names and labels are the ones Litestar's Prometheus middleware used:
`bookshop_requests_total`, `bookshop_request_duration_seconds` (a histogram),
`bookshop_requests_in_progress`, `bookshop_requests_error_total` (5xx), each with
`app_name`, `method`, `path` and (but for in progress) `status_code`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

BUCKETS: tuple[float, ...] = Histogram.DEFAULT_BUCKETS  # the last is +Inf
# Operations' own endpoints: a scrape every few seconds would drown the readers' figures.
UNMEASURED_PREFIXES = ("/metrics", "/health")


@dataclass(slots=True)
class StatusTally:
    count: int = 0
    seconds: float = 0.0
    # Observations per bucket (not yet cumulative): index i counts those <= BUCKETS[i] only.
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))


@dataclass(slots=True)
class RouteMetrics:
    app_name: str
    method: str
    path: str
    in_progress: int = 0
    by_status: dict[int, StatusTally] = field(default_factory=dict)

    def finished(self, status: int, seconds: float) -> None:
        tally = self.by_status.get(status)
        if tally is None:
            tally = self.by_status[status] = StatusTally()
        tally.count += 1
        tally.seconds += seconds
        tally.buckets[bisect_left(BUCKETS, seconds)] += 1


class RequestMetrics:
    """One service's request metrics; `route(method, path_template)` is None for unmeasured ones."""

    def __init__(self, app_name: str) -> None:
        self._app_name = app_name
        self._routes: dict[tuple[str, str], RouteMetrics | None] = {}

    def route(self, method: str, path_template: str) -> RouteMetrics | None:
        key = (method, path_template)
        try:
            return self._routes[key]
        except KeyError:
            route = None
            if not path_template.startswith(UNMEASURED_PREFIXES):
                route = _COLLECTOR.route(self._app_name, method, path_template)
            self._routes[key] = route
            return route


class _RequestCollector(Collector):
    """Every app's routes in this process. Tests build many apps: those of one service share
    their figures, as they share their labels."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str, str], RouteMetrics] = {}

    def route(self, app_name: str, method: str, path: str) -> RouteMetrics:
        key = (app_name, method, path)
        if key not in self._routes:
            self._routes[key] = RouteMetrics(app_name, method, path)
        return self._routes[key]

    def collect(self) -> Iterator[Metric]:
        names = ["method", "path", "status_code", "app_name"]
        requests = CounterMetricFamily(
            "bookshop_requests", "Requests answered, by route and status", labels=names
        )
        duration = HistogramMetricFamily(
            "bookshop_request_duration_seconds",
            "Time from the request reaching the app to the response sent, in seconds",
            labels=names,
        )
        errors = CounterMetricFamily(
            "bookshop_requests_error", "Requests answered with a server error (5xx)", labels=names
        )
        in_progress = GaugeMetricFamily(
            "bookshop_requests_in_progress",
            "Requests being answered now",
            labels=["method", "path", "app_name"],
        )
        for route in list(self._routes.values()):
            in_progress.add_metric([route.method, route.path, route.app_name], route.in_progress)
            for status, tally in list(route.by_status.items()):
                labels = [route.method, route.path, str(status), route.app_name]
                requests.add_metric(labels, tally.count)
                cumulative, buckets = 0, []
                for bound, observed in zip(BUCKETS, tally.buckets, strict=True):
                    cumulative += observed
                    buckets.append((floatToGoString(bound), cumulative))
                duration.add_metric(labels, buckets, tally.seconds)
                if status >= 500:
                    errors.add_metric(labels, tally.count)
        yield from (requests, duration, errors, in_progress)


_COLLECTOR = _RequestCollector()
REGISTRY.register(_COLLECTOR)
