"""`/health/recommendation`: is the database answering, is the broker answering, is the index built."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from litestar import Response, get
from sqlalchemy import text

from services.recommendation.service import RecommendationService
from services.recommendation.settings import RecommendationSettings
from shared.runtime import ServiceRuntime


@get("/health/recommendation", include_in_schema=False)
async def health(
    runtime: ServiceRuntime,
    settings: RecommendationSettings,
    recommendations: RecommendationService,
) -> Response[dict[str, Any]]:
    checks = {"database": await _database(runtime), "broker": await _broker(settings.redis_url)}
    healthy = all(value == "ok" for value in checks.values())
    index = recommendations.index
    # The index is built at the first ranking, so "not built yet" is healthy.
    return Response(
        {
            "service": "recommendation",
            "status": "ok" if healthy else "unhealthy",
            **checks,
            "index": {"built": index.loaded, "books": index.size},
        },
        status_code=200 if healthy else 503,
    )


async def _database(runtime: ServiceRuntime) -> str:
    try:
        async with asyncio.timeout(3), runtime.db.reading() as session:
            await session.execute(text("SELECT 1"))
    except Exception as error:
        return f"failing: {type(error).__name__}"
    return "ok"


async def _broker(redis_url: str) -> str:
    client = aioredis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        async with asyncio.timeout(3):
            await client.ping()
    except Exception as error:
        return f"failing: {type(error).__name__}"
    finally:
        await client.aclose()
    return "ok"
