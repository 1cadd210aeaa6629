"""`/health/checkout`: is the database answering, is the broker answering."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from services.checkout.controllers.dependencies import Settings
from shared.health import Runtime, health_response


@get("/health/checkout", include_in_schema=False)
async def health(runtime: Runtime, settings: Settings) -> Response[dict[str, Any]]:
    return await health_response(runtime, settings.redis_url)
