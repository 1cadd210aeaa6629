"""The stock clerk's pages (/staff/stock), with what they keep besides the catalogue's tables:
the goods-in desk's pending deliveries, the import jobs' progress and the forms already
acted on, all in Redis.

The app adds them with:

    pages = StockPages.build(settings, books=books, stock=stock, db=runtime.db)
    route_handlers=[..., *pages.route_handlers], dependencies={..., **pages.dependencies},
    on_shutdown=[..., pages.close]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar.di import Provide
from redis.asyncio import Redis

from services.catalogue.service import BookService, StockService
from services.catalogue.settings import CatalogueSettings
from services.catalogue.staff_pages.book_pages import BookPages
from services.catalogue.staff_pages.goods_in import GoodsInDesk
from services.catalogue.staff_pages.goods_in_pages import GoodsInPages
from services.catalogue.staff_pages.import_jobs import ImportJobs
from services.catalogue.staff_pages.import_pages import ImportPages
from services.catalogue.staff_pages.new_book_pages import NewBookPages
from services.catalogue.staff_pages.reorder_pages import ReorderPages
from services.catalogue.staff_pages.shelves import Shelves
from services.catalogue.staff_pages.stock_take_pages import StockTakePages
from services.catalogue.staff_pages.submissions import Submissions
from shared.db import Database


@dataclass
class StockPages:
    goods_in: GoodsInDesk
    shelves: Shelves
    imports: ImportJobs
    submissions: Submissions
    redis: Redis
    route_handlers: list[Any] = field(
        default_factory=lambda: [
            BookPages,
            NewBookPages,
            GoodsInPages,
            StockTakePages,
            ReorderPages,
            ImportPages,
        ]
    )

    @classmethod
    def build(
        cls, settings: CatalogueSettings, *, books: BookService, stock: StockService, db: Database
    ) -> StockPages:
        """No I/O: Redis connects on first use."""
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=5)
        submissions = Submissions(redis=redis)
        return cls(
            goods_in=GoodsInDesk(redis=redis, submissions=submissions, books=books, stock=stock),
            shelves=Shelves(db=db),
            imports=ImportJobs(redis=redis, books=books),
            submissions=submissions,
            redis=redis,
        )

    @property
    def dependencies(self) -> dict[str, Provide]:
        def provide(value: object) -> Provide:
            return Provide(lambda: value, sync_to_thread=False, use_cache=True)

        return {
            "goods_in": provide(self.goods_in),
            "shelves": provide(self.shelves),
            "imports": provide(self.imports),
            "submissions": provide(self.submissions),
        }

    async def close(self) -> None:
        """Stop running imports (they write nothing unless they finish), close Redis."""
        await self.imports.close()
        await self.redis.aclose()
