"""`create_app(settings)`: the catalogue's web app. No I/O here; connections open on first use."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from litestar import Litestar
from litestar.di import Provide

from services.catalogue import models
from services.catalogue.book_batches import BookBatches
from services.catalogue.controllers.books import BookController, SearchController
from services.catalogue.controllers.front_page import FrontPage
from services.catalogue.controllers.health import health
from services.catalogue.controllers.pages import PublicPages
from services.catalogue.controllers.staff import StaffSignInController
from services.catalogue.controllers.stock import StockController
from services.catalogue.metrics import live_reservations_refresher
from services.catalogue.page_cache import PageCache, Shopfront
from services.catalogue.service import BookService, StockService
from services.catalogue.settings import CatalogueSettings
from services.catalogue.staff import StaffService
from services.catalogue.staff_pages import StockPages
from shared.auth.csrf import staff_csrf_config
from shared.auth.guards import staff_actor
from shared.auth.sessions import staff_session_config
from shared.observability.layer import ObservabilityLayer
from shared.ratelimit import LOGIN, rate_limits
from shared.runtime import build_runtime
from shared.web import EXCEPTION_HANDLERS, MAX_JSON_BODY_BYTES, openapi_config
from shared.web_assets import staff_static_files, staff_template_config

TEMPLATES = Path(__file__).parent / "templates"


def create_app(settings: CatalogueSettings) -> Litestar:
    runtime = build_runtime(settings, outbox=models.outbox, inbox=models.inbox)
    observability = ObservabilityLayer(
        settings.service_name,
        settings.redis_url,
        refreshers=[live_reservations_refresher(runtime.db)],
    )
    books = BookService(uow=runtime.uow, db=runtime.db)
    stock = StockService(uow=runtime.uow, db=runtime.db)
    shopfront = Shopfront(
        books=BookBatches(books), pages=PageCache(ttl_seconds=settings.page_cache_seconds)
    )
    staff = StaffService(db=runtime.db, lockout=settings.staff_auth.lockout)
    sessions = staff_session_config(settings)
    limiter = rate_limits(settings, LOGIN)
    stock_pages = StockPages.build(settings, books=books, stock=stock, db=runtime.db)

    @contextlib.asynccontextmanager
    async def background(_: Litestar) -> AsyncIterator[None]:
        try:
            async with runtime.relaying():
                yield
        finally:
            await runtime.close()

    def provide(value: object) -> Provide:
        return Provide(lambda: value, sync_to_thread=False, use_cache=True)

    return Litestar(
        route_handlers=[
            *observability.route_handlers,
            BookController,
            SearchController,
            StockController,
            FrontPage,
            PublicPages,
            StaffSignInController,
            *stock_pages.route_handlers,
            staff_static_files("catalogue"),
            health,
        ],
        dependencies={
            "books": provide(books),
            "stock": provide(stock),
            "staff": provide(staff),
            "actor": Provide(staff_actor, sync_to_thread=False),
            "shopfront": provide(shopfront),
            "runtime": provide(runtime),
            "settings": provide(settings),
            **stock_pages.dependencies,
        },
        middleware=[*observability.middleware, sessions.middleware, limiter],
        csrf_config=staff_csrf_config(settings),
        on_shutdown=[stock_pages.close, sessions.close, limiter.close],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_JSON_BODY_BYTES,
        openapi_config=openapi_config(
            "catalogue",
            "Catalogue",
            "Books, stock and its ledger, and search as you type, for the bookshop's staff.",
        ),
        template_config=staff_template_config("catalogue", TEMPLATES),
        lifespan=[background],
        # The process's own logging (JSON lines, shared.observability) stays; Litestar's default
        # config would replace the root handlers with its plain-text format.
        logging_config=None,
        debug=settings.debug,
    )
