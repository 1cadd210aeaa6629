"""`/health/recommendation`: is the database answering, is the broker answering, is the index built."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from services.recommendation.controllers.dependencies import Recommendations, Settings
from shared.health import Runtime, health_response


@get("/health/recommendation", include_in_schema=False)
async def health(
    runtime: Runtime,
    settings: Settings,
    recommendations: Recommendations,
) -> Response[dict[str, Any]]:
    index = recommendations.index
    # The index may wait for the first ranking to be built, so "not built yet" is healthy.
    return await health_response(
        runtime, settings.redis_url, index={"built": index.loaded, "books": index.size}
    )
