"""`/health/catalogue`: is the database answering, is the broker answering."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from litestar import Response, get
from sqlalchemy import text

from services.catalogue.settings import CatalogueSettings
from shared.runtime import ServiceRuntime


@get("/health/catalogue", include_in_schema=False)
async def health(runtime: ServiceRuntime, settings: CatalogueSettings) -> Response[dict[str, str]]:
    checks = {"database": await _database(runtime), "broker": await _broker(settings.redis_url)}
    healthy = all(value == "ok" for value in checks.values())
    return Response(
        {"service": "catalogue", "status": "ok" if healthy else "unhealthy", **checks},
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
