"""`create_app(settings)`: the recommendation service's web app.

No I/O here: connections open on first use, and the index (with its models) is built at
the first ranking, in a thread, or as the app starts with `index_in_background`, which
then keeps it current between rankings too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from litestar import Litestar
from litestar.di import Provide

from services.recommendation import models
from services.recommendation.controllers.api import EditorController, RecommendationsController
from services.recommendation.controllers.health import health
from services.recommendation.controllers.public import ArticleBooksController, LinkController
from services.recommendation.controllers.staff_editor import EditorDeskController
from services.recommendation.fetching import PageFetcher
from services.recommendation.index import RankerFactory
from services.recommendation.service import build_service
from services.recommendation.settings import RecommendationSettings
from shared.auth.csrf import staff_csrf_config
from shared.auth.sessions import staff_session_config
from shared.observability.layer import ObservabilityLayer
from shared.ratelimit import RECOMMENDATIONS, rate_limits
from shared.runtime import build_runtime
from shared.web import EXCEPTION_HANDLERS, MAX_JSON_BODY_BYTES, openapi_config
from shared.web_assets import staff_static_files, staff_template_config

TEMPLATES = Path(__file__).parent / "templates"
# Often enough that a reader seldom finds changes waiting to be applied (a stock level moves
# with every Buy); a refresh with nothing new is one small query.
INDEX_REFRESH_SECONDS = 2.0
log = logging.getLogger(__name__)


def create_app(
    settings: RecommendationSettings,
    *,
    make_ranker: RankerFactory | None = None,
    fetcher: PageFetcher | None = None,
) -> Litestar:
    """`make_ranker` and `fetcher` replace the shop's Ranker and page fetcher (tests)."""
    runtime = build_runtime(settings, outbox=models.outbox, inbox=models.inbox)
    observability = ObservabilityLayer(settings.service_name, settings.redis_url)
    recommendations = build_service(runtime, settings, make_ranker=make_ranker, fetcher=fetcher)
    sessions = staff_session_config(settings)
    limiter = rate_limits(settings, RECOMMENDATIONS)

    async def keep_index_current() -> None:
        failing = False
        while True:
            try:
                await recommendations.index.refresh()
            except Exception:
                # Not fatal: each ranking refreshes the index itself. Said once per outage.
                if not failing:
                    log.warning("the index could not be refreshed", exc_info=True)
                failing = True
            else:
                failing = False
            await asyncio.sleep(INDEX_REFRESH_SECONDS)

    @contextlib.asynccontextmanager
    async def background(_: Litestar) -> AsyncIterator[None]:
        refreshing = (
            asyncio.create_task(keep_index_current(), name="recommendation-index")
            if settings.index_in_background
            else None
        )
        try:
            async with runtime.relaying():
                yield
        finally:
            if refreshing is not None:
                refreshing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refreshing
            await runtime.close()

    def provide(value: object) -> Provide:
        return Provide(lambda: value, sync_to_thread=False, use_cache=True)

    return Litestar(
        route_handlers=[
            *observability.route_handlers,
            RecommendationsController,
            ArticleBooksController,
            LinkController,
            EditorController,
            EditorDeskController,
            staff_static_files("recommendation"),
            health,
        ],
        dependencies={
            "recommendations": provide(recommendations),
            "runtime": provide(runtime),
            "settings": provide(settings),
        },
        middleware=[*observability.middleware, sessions.middleware, limiter],
        csrf_config=staff_csrf_config(settings),
        on_shutdown=[sessions.close, limiter.close],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_JSON_BODY_BYTES,
        openapi_config=openapi_config(
            "recommendation",
            "Recommendation",
            "Books for newspaper articles, with a reason each; the links articles carry, "
            "editors' pins and bans, and what each article's links brought in.",
        ),
        template_config=staff_template_config("recommendation", TEMPLATES),
        lifespan=[background],
        # The process's own logging (JSON lines, shared.observability) stays; Litestar's default
        # config would replace the root handlers with its plain-text format.
        logging_config=None,
        debug=settings.debug,
    )
