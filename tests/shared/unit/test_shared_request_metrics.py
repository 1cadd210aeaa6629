"""The request id and request metrics middleware, on a small app of its own: ids made, kept and
echoed, and each request counted and timed under its route's template, whatever answered it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar, MediaType, get
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import REGISTRY, generate_latest

from shared.observability import request_id
from shared.observability.http import ObservedRequests
from shared.observability.request_metrics import BUCKETS, RequestMetrics, RouteMetrics

APP = "metrics-test"
seen_ids: list[str | None] = []


@get("/things/{name:str}", media_type=MediaType.TEXT)
async def thing(name: FromPath[str]) -> str:
    seen_ids.append(request_id.current())
    if name == "broken":
        raise RuntimeError("a bug")
    return name


@get("/health/metrics-test", media_type=MediaType.TEXT)
async def health() -> str:
    return "ok"


def refuse_crowds(app: ASGIApp) -> ASGIApp:
    """Like the rate limiter: raises before any response, outside the handler."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].endswith("/crowded"):
            raise TooManyRequestsException("wait")
        await app(scope, receive, send)

    return middleware


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    app = Litestar(
        route_handlers=[thing, health],
        middleware=[
            DefineMiddleware(ObservedRequests, metrics=RequestMetrics(APP)),
            refuse_crowds,
        ],
        openapi_config=None,
    )
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as test_client:
        yield test_client


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"app_name": APP, **labels})


async def test_an_id_is_made_or_kept_echoed_and_bound_to_the_logs(
    client: AsyncTestClient[Any],
) -> None:
    made = await client.get("/things/a")
    kept = await client.get("/things/a", headers={"X-Request-ID": "reader-7"})
    refused = await client.get("/things/a", headers={"X-Request-ID": "no spaces, please"})
    crowded = await client.get("/things/crowded", headers={"X-Request-ID": "reader-8"})
    assert len(made.headers["x-request-id"]) == 32
    assert kept.headers["x-request-id"] == "reader-7"
    assert crowded.status_code == 429
    assert crowded.headers["x-request-id"] == "reader-8", (
        "refused before any response, still echoed"
    )
    assert refused.headers["x-request-id"] != "no spaces, please"
    assert seen_ids[-3:] == [
        made.headers["x-request-id"],
        "reader-7",
        refused.headers["x-request-id"],
    ]
    assert request_id.current() is None, "the id is unbound after the request"


async def test_requests_are_counted_and_timed_per_route_and_status(
    client: AsyncTestClient[Any],
) -> None:
    route = {"method": "GET", "path": "/things/{name}"}
    before = {
        status: sample("bookshop_requests_total", **route, status_code=status) or 0.0
        for status in ("200", "500", "429")
    }
    for name in ("a", "b", "broken", "crowded"):
        await client.get(f"/things/{name}")
    await client.get("/health/metrics-test")

    def counted(status: str) -> float:
        return (sample("bookshop_requests_total", **route, status_code=status) or 0.0) - before[
            status
        ]

    assert counted("200") == 2
    assert counted("500") == 1, "an exception the handler raised"
    assert counted("429") == 1, "refused by a middleware before any response"
    assert sample("bookshop_requests_error_total", **route, status_code="500") >= 1
    assert sample("bookshop_request_duration_seconds_count", **route, status_code="200") >= 2
    assert sample(
        "bookshop_request_duration_seconds_bucket", **route, status_code="200", le="+Inf"
    ) == sample("bookshop_request_duration_seconds_count", **route, status_code="200")
    assert sample("bookshop_requests_in_progress", **route) == 0
    assert b'path="/health' not in generate_latest(REGISTRY), "operations' endpoints not counted"


def test_each_duration_lands_in_the_first_bucket_it_fits() -> None:
    route = RouteMetrics(APP, "GET", "/unit")
    for seconds in (0.001, 0.005, 0.0051, 11.0):
        route.finished(200, seconds)
    tally = route.by_status[200]
    assert tally.count == 4
    assert tally.buckets[BUCKETS.index(0.005)] == 2, "a bucket's bound is included"
    assert tally.buckets[BUCKETS.index(0.01)] == 1
    assert tally.buckets[-1] == 1, "longer than the last bound: +Inf"
