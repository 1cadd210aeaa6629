"""`/health/recommendation`: is the database answering, is the broker answering, is the index built."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from services.recommendation.service import RecommendationService
from services.recommendation.settings import RecommendationSettings
from shared.health import health_response
from shared.runtime import ServiceRuntime


@get("/health/recommendation", include_in_schema=False)
async def health(
    runtime: ServiceRuntime,
    settings: RecommendationSettings,
    recommendations: RecommendationService,
) -> Response[dict[str, Any]]:
    index = recommendations.index
    # The index is built at the first ranking, so "not built yet" is healthy.
    return await health_response(
        runtime, settings.redis_url, index={"built": index.loaded, "books": index.size}
    )
