"""`/health/catalogue`: is the database answering, is the broker answering."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from services.catalogue.settings import CatalogueSettings
from shared.health import health_response
from shared.runtime import ServiceRuntime


@get("/health/catalogue", include_in_schema=False)
async def health(runtime: ServiceRuntime, settings: CatalogueSettings) -> Response[dict[str, Any]]:
    return await health_response(runtime, settings.redis_url)
