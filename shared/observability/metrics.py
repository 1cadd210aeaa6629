"""Prometheus metrics: Celery task outcomes, queue depths, and the `/metrics` endpoint.

Workers count task outcomes in a Redis hash (they serve no HTTP); each web app's
`/metrics` reads those counts and the queue lengths when scraped, beside its own request
metrics (requests and latencies per route, `request_metrics`) and whatever gauges its service
refreshes (live reservations, for example).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast

import redis
from celery import Celery
from celery.signals import task_failure, task_retry, task_success
from litestar import Controller, MediaType, Response, get
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.messaging.celery_app import SERVICE_QUEUES

TASK_COUNTS_KEY = "bookshop:metrics:tasks"

Refresher = Callable[[], Awaitable[None]]


def install_task_metrics(app: Celery) -> None:
    """Count each task's successes, failures and retries in Redis, from the worker process."""
    client = redis.Redis.from_url(app.conf.broker_url, socket_connect_timeout=2, socket_timeout=2)

    def count(sender: Any, outcome: str) -> None:
        name = getattr(sender, "name", None)
        if name is None or getattr(sender, "app", None) is not app:
            return
        with contextlib.suppress(redis.RedisError):  # metrics must never fail a task
            client.hincrby(TASK_COUNTS_KEY, f"{name}|{outcome}", 1)

    task_success.connect(lambda sender=None, **_: count(sender, "succeeded"), weak=False)
    task_failure.connect(lambda sender=None, **_: count(sender, "failed"), weak=False)
    task_retry.connect(lambda sender=None, **_: count(sender, "retried"), weak=False)


class BrokerCollector(Collector):
    """Task outcomes and queue depths, read from Redis at scrape time."""

    def __init__(self, redis_url: str, queues: Sequence[str] = SERVICE_QUEUES) -> None:
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        self._queues = tuple(queues)

    def collect(self) -> Iterable[Any]:
        tasks = CounterMetricFamily(
            "bookshop_tasks", "Celery tasks by outcome", labels=["task", "outcome"]
        )
        depth = GaugeMetricFamily(
            "bookshop_queue_depth", "Messages waiting per queue", labels=["queue"]
        )
        try:
            # bytes: the client is made without decode_responses
            counts = cast("dict[bytes, bytes]", self._client.hgetall(TASK_COUNTS_KEY))
            for field, value in counts.items():
                task, _, outcome = field.decode().rpartition("|")
                tasks.add_metric([task, outcome], float(value))
            for queue in self._queues:
                depth.add_metric([queue], float(self._client.llen(queue)))
        except redis.RedisError:
            return
        yield tasks
        yield depth


def metrics_controller(redis_url: str, refreshers: Sequence[Refresher] = ()) -> type[Controller]:
    """`GET /metrics` in Prometheus text: the process's metrics plus the broker's."""
    broker_registry = CollectorRegistry(auto_describe=False)
    broker_registry.register(BrokerCollector(redis_url))

    class MetricsController(Controller):
        path = "/metrics"
        include_in_schema = False

        @get(media_type=MediaType.TEXT, cache=False, name="metrics")
        async def metrics(self) -> Response[bytes]:
            for refresh in refreshers:
                await refresh()
            # The broker's figures come from Redis over the network: off the event loop.
            broker = await asyncio.to_thread(generate_latest, broker_registry)
            body = generate_latest(REGISTRY) + broker
            return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    return MetricsController
