"""The seed article `bookshop up` starts with: the piece the shop's article links began from,
stored once as `a000` so its links (`/go/a000/{isbn}`) and the editor's desk work at once."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from services.recommendation.domain import ArticleSource, SourceKind
from services.recommendation.fetching import HttpFetcher
from services.recommendation.index import LiveIndex, ranker_factory
from services.recommendation.models import outbox
from services.recommendation.service import ArticleDraft, RecommendationService
from services.recommendation.settings import RecommendationSettings
from shared.db import Database
from shared.errors import NotFound
from shared.messaging.unit_of_work import UnitOfWorkFactory

SEED_ARTICLE = Path(__file__).parent / "demo" / "seed-article.txt"
SEED_ARTICLE_ID = "a000"
SEED_HEADLINE = "Revolution in the 'progressive' bloc"
SEED_PUBLISHED = date(2012, 6, 19)


async def seed_demo_article(settings: RecommendationSettings, path: Path = SEED_ARTICLE) -> bool:
    """Store the seed article unless it is there already (an editor may have changed it);
    True when it was added. Its books are ranked when first asked for."""
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    db = Database(settings.resolved_database_url())
    try:
        service = RecommendationService(
            uow=UnitOfWorkFactory(db, outbox),
            db=db,
            index=LiveIndex(db, ranker_factory(rerank=settings.rerank)),
            fetcher=HttpFetcher.from_settings(settings),
            settings=settings,
        )
        try:
            await service.article(SEED_ARTICLE_ID)
            return False
        except NotFound:
            pass
        draft = ArticleDraft(
            source=ArticleSource(SourceKind.TEXT, text),
            headline=SEED_HEADLINE,
            published=SEED_PUBLISHED,
        )
        await service.save_article(SEED_ARTICLE_ID, draft)
        return True
    finally:
        await db.dispose()
