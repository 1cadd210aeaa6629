"""The message handlers on SQLite and Postgres: book changes, published articles, paid and
refunded orders."""

from __future__ import annotations

import asyncio
import gc
from uuid import uuid4

import msgspec
import pytest
from sqlalchemy import select

from services.recommendation import handlers
from services.recommendation.domain import ArticleSource, SourceKind
from services.recommendation.fetching import FetchedPage, HttpFetcher, PageFetcher
from services.recommendation.index import LiveIndex, read_position
from services.recommendation.models import (
    Article,
    AttributedOrder,
    AttributedRefund,
    Book,
    CachedBook,
    inbox,
    outbox,
)
from services.recommendation.ranking import Ranker
from services.recommendation.service import ArticleDraft, RecommendationService
from services.recommendation.tasks import HANDLERS, SERVICE
from shared import gc_freeze
from shared.contracts import (
    ArticlePublished,
    Attribution,
    OrderLine,
    OrderPaid,
    OrderRefunded,
    StockLine,
)
from shared.db import Database
from shared.errors import InvalidInput
from shared.messaging.consumers import ConsumerResources, WorkerRuntime, consume, task_name_for
from shared.messaging.outbox import OutboxRelay

CALLINICOS = "9798463348616"


async def book(feed, isbn13: str) -> Book | None:
    async with feed.db.reading() as session:
        return await session.get(Book, isbn13)


async def position(feed):
    async with feed.db.reading() as session:
        return await read_position(session)


async def test_a_book_change_is_copied_and_raises_the_index_version(feed) -> None:
    await feed.events(feed.event(CALLINICOS, version=3, price_pence=2100, available=2))

    stored = await book(feed, CALLINICOS)
    assert stored is not None
    assert (stored.version, stored.price_pence, stored.available) == (3, 2100, 2)
    assert stored.authors == ["Alex Callinicos"]
    assert stored.subjects == ["imperialism", "political-economy", "marxist-theory"]
    assert not stored.withdrawn
    assert (await position(feed)).version == stored.index_version == 1


async def test_a_stale_or_repeated_event_changes_nothing(feed) -> None:
    await feed.events(feed.event(CALLINICOS, version=5, price_pence=2500))
    version_after_newest = (await position(feed)).version

    await feed.events(
        feed.event(CALLINICOS, version=4, price_pence=1000, title="Old title"),
        feed.event(CALLINICOS, version=5, price_pence=1111),
    )

    stored = await book(feed, CALLINICOS)
    assert stored is not None
    assert (stored.version, stored.price_pence) == (5, 2500)
    assert stored.title == "Imperialism and Global Political Economy"
    assert (await position(feed)).version == version_after_newest


async def test_a_withdrawn_book_leaves_the_results_and_an_older_event_cannot_bring_it_back(
    client, feed, seed_article
) -> None:
    await feed.catalogue()
    first = (await client.post("/recommendations", json={"text": seed_article})).json()
    assert first["books"][0]["isbn13"] == CALLINICOS

    await feed.events(feed.event(CALLINICOS, version=2, withdrawn=True))
    await feed.events(feed.event(CALLINICOS, version=1))
    after = (await client.post("/recommendations", json={"text": seed_article})).json()

    assert CALLINICOS not in [b["isbn13"] for b in after["books"]]
    stored = await book(feed, CALLINICOS)
    assert stored is not None and stored.withdrawn and stored.version == 2


async def test_a_published_article_is_stored_with_its_books(feed, builds, settings) -> None:
    await feed.catalogue()
    service = RecommendationService(
        uow=feed.uows,
        db=feed.db,
        index=LiveIndex(feed.db, builds),
        fetcher=HttpFetcher(timeout_seconds=1, max_bytes=1024),
        settings=settings,
    )
    text = (feed_data := feed.records[CALLINICOS])["description"]
    message = ArticlePublished(
        article_id="cms-41",
        headline="Empire and capital",
        html=f"<article><h1>Empire and capital</h1><p>{text}</p>"
        f"<p>Alex Callinicos's {feed_data['title']} argues it well.</p>"
        "<div class='share'>Share this article</div></article>",
    )

    async with feed.uows() as uow:
        await handlers.on_article_published(message, uow=uow, recommendations=service)

    async with feed.db.reading() as session:
        article = await session.get(Article, "cms-41")
        cached = (await session.scalars(select(CachedBook).order_by(CachedBook.rank))).all()
    assert article is not None
    assert article.headline == "Empire and capital"
    assert "Share this article" not in article.text
    assert cached[0].isbn13 == CALLINICOS and cached[0].reason
    assert article.cached_version == (await position(feed)).version


class SlowPage:
    """A page that arrives only when the test lets it."""

    def __init__(self, html: str) -> None:
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()
        self._html = html

    async def fetch(self, url: str) -> FetchedPage:
        self.asked.set()
        await self.answer.wait()
        return FetchedPage(url=url, content=self._html, is_html=True)


def service_with(feed, builds, settings, fetcher: PageFetcher) -> RecommendationService:
    return RecommendationService(
        uow=feed.uows,
        db=feed.db,
        index=LiveIndex(feed.db, builds),
        fetcher=fetcher,
        settings=settings,
    )


async def test_a_published_page_being_fetched_holds_up_no_other_write(
    feed, builds, settings
) -> None:
    await feed.catalogue()
    page = SlowPage(
        f"<article><h1>Empire</h1><p>{feed.records[CALLINICOS]['description']}</p></article>"
    )
    service = service_with(feed, builds, settings, page)
    message = ArticlePublished(
        article_id="cms-slow", headline="Empire", url="https://paper.example/empire"
    )

    async def publish() -> None:
        async with feed.uows() as uow:
            await handlers.on_article_published(message, uow=uow, recommendations=service)

    publishing = asyncio.create_task(publish())
    await asyncio.wait_for(page.asked.wait(), 10)
    # a reader's click or a book change meanwhile is written at once, not after the page
    await asyncio.wait_for(feed.events(feed.event(CALLINICOS, version=2, available=9)), 5)
    page.answer.set()
    await asyncio.wait_for(publishing, 30)

    async with feed.db.reading() as session:
        article = await session.get(Article, "cms-slow")
    assert article is not None and article.cached_version is not None


async def test_a_message_without_the_article_is_refused_clearly(feed, builds, settings) -> None:
    service = service_with(feed, builds, settings, HttpFetcher(timeout_seconds=1, max_bytes=1024))
    async with feed.uows() as uow:
        with pytest.raises(InvalidInput, match="exactly one of"):
            await handlers.on_article_published(
                ArticlePublished(article_id="cms-2", headline="Nothing"),
                uow=uow,
                recommendations=service,
            )


async def test_the_same_new_article_saved_at_once_is_stored_once(feed, builds, settings) -> None:
    """An editor's double submit, or the CMS's message beside an editor's save."""
    service = service_with(feed, builds, settings, HttpFetcher(timeout_seconds=1, max_bytes=1024))
    draft = ArticleDraft(source=ArticleSource(SourceKind.TEXT, "Lenin on imperialism."))

    saved = await asyncio.gather(*(service.save_article("twice", draft) for _ in range(4)))

    assert {summary.id for summary in saved} == {"twice"}
    assert await feed.count(Article) == 1


async def test_a_built_index_is_left_out_of_the_collectors_walks(feed, builds, monkeypatch) -> None:
    """At 100,000 books a full collection walking the index took 420 ms: frozen, none does."""
    await feed.catalogue()
    index = LiveIndex(feed.db, builds)
    monkeypatch.setattr(gc_freeze, "_freezing", False)
    try:
        gc_freeze.freeze_long_lived_objects()  # as a service process does once started
        await index.refresh()
        assert index.size > 0
        assert not any(isinstance(each, Ranker) for each in gc.get_objects())
    finally:
        gc.unfreeze()


ARTICLE = Attribution(article_id="sw-2308", isbn13=CALLINICOS)


def paid_order(reference: str = "BK-1001", attribution: Attribution | None = ARTICLE) -> OrderPaid:
    """Two copies at 19.99 and 3.50 postage."""
    return OrderPaid(
        order_id=uuid4(),
        reference=reference,
        lines=(OrderLine(isbn13=CALLINICOS, quantity=2, unit_price_pence=1999),),
        total_pence=3998 + 350,
        attribution=attribution,
    )


def refund_of(paid: OrderPaid, amount_pence: int, copies: int = 0) -> OrderRefunded:
    """`copies` of Callinicos refunded with the money."""
    return OrderRefunded(
        order_id=paid.order_id,
        reference=paid.reference,
        amount_pence=amount_pence,
        attribution=paid.attribution,
        copies=(StockLine(CALLINICOS, copies),) if copies else (),
    )


class Worker:
    """Delivers checkout's events as the recommendation worker does: each through the consumer
    wrapper, in a transaction of its own with its inbox row."""

    def __init__(self, db: Database) -> None:
        async def setup() -> ConsumerResources:
            return ConsumerResources(
                db=db, inbox=inbox, outbox=outbox, relay=OutboxRelay(db, outbox, lambda *_: None)
            )

        self._runtime = WorkerRuntime(setup)

    async def deliver(self, message: OrderPaid | OrderRefunded) -> None:
        kind = type(message)
        await consume(
            self._runtime,
            kind,
            HANDLERS[kind],
            task_name_for(SERVICE, kind),
            message.to_json_dict(),
        )


@pytest.fixture
async def reports(feed, builds, settings) -> RecommendationService:
    """The service, with the article whose links brought the orders."""
    service = service_with(feed, builds, settings, HttpFetcher(timeout_seconds=1, max_bytes=1024))
    draft = ArticleDraft(source=ArticleSource(SourceKind.TEXT, "Stalinism and the left."))
    await service.save_article(ARTICLE.article_id, draft)
    return service


async def money(reports: RecommendationService) -> tuple[int, int, int, int]:
    """The article's orders, gross, refunded and revenue."""
    report = await reports.report(ARTICLE.article_id)
    return report.orders, report.gross_pence, report.refunded_pence, report.revenue_pence


async def test_a_paid_order_from_an_article_is_remembered_and_refunds_come_off(
    feed, reports
) -> None:
    paid = paid_order()
    unattributed = paid_order("BK-1002", attribution=None)

    async with feed.uows() as uow:
        await handlers.on_order_paid(paid, uow=uow)
        await handlers.on_order_paid(unattributed, uow=uow)
        await handlers.on_order_refunded(refund_of(paid, 1999), uow=uow)
        await handlers.on_order_refunded(refund_of(unattributed, 1999), uow=uow)
        # more refunded than was paid is capped at what was paid
        await handlers.on_order_refunded(refund_of(paid, 99_999), uow=uow)

    async with feed.db.reading() as session:
        orders = (await session.scalars(select(AttributedOrder))).all()
    assert [(o.order_id, o.article_id, o.total_pence) for o in orders] == [
        (paid.order_id, "sw-2308", 4348)
    ]
    assert orders[0].lines == [{"isbn13": CALLINICOS, "quantity": 2}]
    assert await money(reports) == (1, 4348, 4348, 0)
    # an order no article brought leaves nothing behind
    assert await feed.count(AttributedRefund) == 2


async def test_a_refund_delivered_before_its_paid_order_still_comes_off(feed, reports) -> None:
    """Celery keeps no order between messages: a retried OrderPaid comes after its refund."""
    worker = Worker(feed.db)
    paid = paid_order()

    await worker.deliver(refund_of(paid, 1999))
    assert await money(reports) == (0, 0, 0, 0)
    await worker.deliver(paid)

    assert await money(reports) == (1, 4348, 1999, 4348 - 1999)


async def test_a_refund_delivered_twice_counts_once(feed, reports) -> None:
    worker = Worker(feed.db)
    paid = paid_order()
    refund = refund_of(paid, 1000)

    await worker.deliver(paid)
    await worker.deliver(refund)
    await worker.deliver(refund)
    await worker.deliver(paid)
    # and the handler alone, without the inbox in front of it, keeps it once too
    async with feed.uows() as uow:
        await handlers.on_order_refunded(refund, uow=uow)

    assert await money(reports) == (1, 4348, 1000, 3348)
    # a second refund of the same order is more money back, not the first again
    await worker.deliver(refund_of(paid, 500))
    assert await money(reports) == (1, 4348, 1500, 2848)


async def test_a_refund_of_an_order_never_paid_counts_for_nothing(feed, reports) -> None:
    """A payment that came after its hold lapsed, the copies gone, is refunded unpaid."""
    worker = Worker(feed.db)
    paid = paid_order()
    await worker.deliver(paid)

    await worker.deliver(refund_of(paid_order("BK-1003"), 4348))

    assert await money(reports) == (1, 4348, 0, 4348)


async def test_a_refund_sent_without_its_attribution_counts_once_its_order_is_here(
    feed, reports
) -> None:
    """Refunds checkout queued before it named the article on them."""
    worker = Worker(feed.db)
    paid = paid_order()
    early = msgspec.structs.replace(refund_of(paid, 300), attribution=None)
    late = msgspec.structs.replace(refund_of(paid, 200), attribution=None)

    await worker.deliver(early)
    await worker.deliver(paid)
    await worker.deliver(late)

    assert await money(reports) == (1, 4348, 200, 4148)


async def copies_sold(reports: RecommendationService) -> int:
    report = await reports.report(ARTICLE.article_id)
    return sum(book.copies_sold for book in report.books if book.isbn13 == CALLINICOS)


async def test_refunded_copies_come_off_the_copies_sold_once_and_never_below_none(
    feed, reports
) -> None:
    worker = Worker(feed.db)
    paid = paid_order()
    one_back = refund_of(paid, 1999, copies=1)

    # The refund may come before its paid order; delivered twice, it counts once.
    await worker.deliver(one_back)
    assert await copies_sold(reports) == 0
    await worker.deliver(paid)
    await worker.deliver(one_back)
    async with feed.uows() as uow:
        await handlers.on_order_refunded(one_back, uow=uow)
    assert await copies_sold(reports) == 1
    # Copies told on their own (Stripe's news of the money came first), and more refunded
    # than were sold: none left, not fewer.
    await worker.deliver(refund_of(paid, 0, copies=1))
    await worker.deliver(refund_of(paid, 0, copies=3))

    assert await copies_sold(reports) == 0
    assert await money(reports) == (1, 4348, 1999, 4348 - 1999)
