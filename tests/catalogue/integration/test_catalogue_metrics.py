"""Operations: every response carries a request id, and /metrics speaks Prometheus text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from services.catalogue.app import create_app
from services.catalogue.settings import CatalogueSettings


@pytest.fixture
async def client(catalogue_url: str, redis_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = CatalogueSettings(database_url=catalogue_url, redis_url=redis_url)
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


async def test_a_request_id_is_made_or_kept_and_echoed(client: AsyncTestClient[Any]) -> None:
    made = await client.get("/search", params={"q": "marx"})
    assert len(made.headers["x-request-id"]) == 32
    kept = await client.get("/search", params={"q": "marx"}, headers={"X-Request-ID": "reader-42"})
    assert kept.headers["x-request-id"] == "reader-42"
    refused = await client.get("/search", params={"q": "marx"}, headers={"X-Request-ID": "x" * 65})
    assert refused.headers["x-request-id"] != "x" * 65, "an overlong id is replaced, not logged"


async def test_metrics_count_requests_tasks_queues_and_live_reservations(
    client: AsyncTestClient[Any],
) -> None:
    await client.get("/books/9798463348616")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'bookshop_requests_total{app_name="catalogue"' in text
    assert "bookshop_request_duration_seconds_bucket" in text
    assert 'bookshop_queue_depth{queue="catalogue"} 0.0' in text
    assert "bookshop_catalogue_reservations_live 0.0" in text
