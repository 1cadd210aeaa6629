"""A real recommendation worker (`bookshop worker recommendation`) consuming messages sent
through Celery: the catalogue's book changes, and a published article it ranks itself."""

from __future__ import annotations

from sqlalchemy import select
from waiting import eventually

from services.recommendation.index import read_position
from services.recommendation.models import Article, Book, CachedBook
from shared.contracts import ArticlePublished
from shared.messaging.celery_app import make_celery
from shared.messaging.publisher import CeleryPublisher

CALLINICOS = "9798463348616"


async def test_the_worker_keeps_the_books_from_the_catalogues_events_and_ranks_articles(
    feed, recommendation_url: str, redis_url: str, run_worker
) -> None:
    run_worker(
        "recommendation",
        {"RECOMMENDATION_DATABASE_URL": recommendation_url, "REDIS_URL": redis_url},
    )
    catalogue = CeleryPublisher(make_celery("catalogue", redis_url))
    changed = feed.event(CALLINICOS, version=2, price_pence=2250)

    catalogue.send(changed)
    catalogue.send(changed)  # a redelivery changes nothing the second time
    catalogue.send(feed.event(CALLINICOS, version=1))  # stale: the price stays
    # one solo worker takes them in order: when these are in, the ones before are handled
    others = [isbn for isbn in list(feed.records)[:40] if isbn != CALLINICOS][:20]
    for isbn in others:
        catalogue.send(feed.event(isbn))

    async def all_books() -> int | None:
        count = await feed.count(Book)
        return count if count == 21 else None

    await eventually(all_books, timeout=60, what="the 21 books reaching the worker")
    async with feed.db.reading() as session:
        assert (await session.get(Book, CALLINICOS)).price_pence == 2250
        assert (await read_position(session)).version == 21

    CeleryPublisher(make_celery("cms", redis_url)).send(
        ArticlePublished(
            article_id="cms-7",
            headline="Empire and capital",
            text="Alex Callinicos's Imperialism and Global Political Economy, reviewed: "
            "capitalist competition and the rivalry of states.",
        )
    )

    async def ranked() -> list[str] | None:
        async with feed.db.reading() as session:
            article = await session.get(Article, "cms-7")
            if article is None or article.cached_version is None:
                return None
            rows = await session.scalars(select(CachedBook.isbn13).order_by(CachedBook.rank))
            return list(rows)

    books = await eventually(ranked, timeout=120, what="the article ranked")
    assert books[0] == CALLINICOS
