"""What every service's `/health/<service>` checks: its database and the broker, each within 3 s."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from litestar import Response
from litestar.di import NamedDependency
from sqlalchemy import text

from shared.runtime import ServiceRuntime

CHECK_SECONDS = 3
Runtime = NamedDependency[ServiceRuntime]
"""The app's `runtime` dependency as a health handler takes it: `runtime: Runtime`."""


async def _database(runtime: ServiceRuntime) -> str:
    try:
        async with asyncio.timeout(CHECK_SECONDS), runtime.db.reading() as session:
            await session.execute(text("SELECT 1"))
    except Exception as error:
        return f"failing: {type(error).__name__}"
    return "ok"


async def _broker(redis_url: str) -> str:
    client = aioredis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await client.ping()
    except Exception as error:
        return f"failing: {type(error).__name__}"
    finally:
        await client.aclose()
    return "ok"


async def health_response(
    runtime: ServiceRuntime, redis_url: str, **details: Any
) -> Response[dict[str, Any]]:
    """200 when the database and the broker answer, 503 (with what failed) when not."""
    checks = {"database": await _database(runtime), "broker": await _broker(redis_url)}
    healthy = all(value == "ok" for value in checks.values())
    return Response(
        {
            "service": runtime.service,
            "status": "ok" if healthy else "unhealthy",
            **checks,
            **details,
        },
        status_code=200 if healthy else 503,
    )
