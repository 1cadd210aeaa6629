"""The recommendation service's use cases: articles in, ranked books out, links, pins and bans,
reports; and what its message handlers write (book changes, attributed orders)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.recommendation.books import IndexedBook
from services.recommendation.cleaning import CleanArticle, clean_html, clean_text
from services.recommendation.domain import (
    ARTICLE_ID,
    DEFAULT_K,
    MAX_K,
    ArticleBooks,
    ArticleReport,
    ArticleSource,
    ArticleSummary,
    BookPick,
    EditorRules,
    OrderFigures,
    RuleKind,
    ShelfBook,
    SourceKind,
    article_report,
    article_source,
    book_path,
    check_article_id,
    check_clean_text,
    check_headline,
    check_html,
    check_k,
    check_text,
    go_path,
    landing_path,
)
from services.recommendation.fetching import HttpFetcher, PageFetcher
from services.recommendation.index import (
    LiveIndex,
    Ranked,
    RankerFactory,
    next_version,
    ranker_factory,
    read_position,
    request_rebuild,
)
from services.recommendation.models import (
    Article,
    AttributedOrder,
    AttributedRefund,
    Book,
    CachedBook,
    Click,
    EditorRule,
    RefundedCopies,
    outbox,
)
from services.recommendation.ranking import Recommendation
from services.recommendation.settings import RecommendationSettings
from shared.contracts import ArticlePublished, BookChanged, OrderPaid, OrderRefunded
from shared.contracts.recommendation import ARTICLE_ID_LENGTH
from shared.db import Database
from shared.errors import NotFound
from shared.isbn import to_isbn13
from shared.messaging.message import utcnow
from shared.messaging.unit_of_work import UnitOfWork, UnitOfWorkFactory
from shared.runtime import ServiceRuntime

_HEADLINE_LENGTH = 500


@dataclass(frozen=True)
class PreparedArticle:
    clean: CleanArticle
    source_url: str | None


@dataclass(frozen=True)
class ArticleDraft:
    """An article as it arrives: its words (or where to fetch them) and what is known of it."""

    source: ArticleSource
    headline: str | None = None
    published: date | None = None


class RecommendationService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        db: Database,
        index: LiveIndex,
        fetcher: PageFetcher,
        settings: RecommendationSettings,
    ) -> None:
        self._uow = uow
        self._db = db
        self._index = index
        self._fetcher = fetcher
        self._settings = settings

    # -- articles in, books out --------------------------------------------------------

    async def recommend(
        self, *, draft: ArticleDraft, k: int = DEFAULT_K, article_id: str | None = None
    ) -> ArticleBooks:
        """Rank books for an article; with an id the article is stored (or replaced) too."""
        check_k(k)
        if article_id is not None:
            check_article_id(article_id)
        prepared = await self.prepare(draft)
        if article_id is None:
            ranked = await self._index.recommend(prepared.clean, k=k)
            async with self._db.reading() as session:
                books = await self._picks(session, None, ranked.recommendations)
            return ArticleBooks(article=None, books=books, index_version=ranked.position.version)
        async with self._uow() as uow:
            await _store_article(uow.session, article_id, draft, prepared)
        return await self.article_books(article_id, k=k)

    async def save_article(self, article_id: str, draft: ArticleDraft) -> ArticleSummary:
        """Store (or replace) an article without ranking it: its books are ranked when first
        asked for (the demo seed runs before any book has reached the index)."""
        check_article_id(article_id)
        prepared = await self.prepare(draft)
        async with self._uow() as uow:
            return _summary(await _store_article(uow.session, article_id, draft, prepared))

    async def publish(self, uow: UnitOfWork, message: ArticlePublished) -> None:
        """Store a published article and its books.

        The page is fetched and ranked before the handler's transaction writes anything: on
        SQLite the first write takes the file's one lock, and readers' clicks and editors'
        changes must not wait behind a slow page or a first load of the models.
        """
        check_article_id(message.article_id)
        source = article_source(text=message.text, html=message.html, url=message.url)
        draft = ArticleDraft(source=source, headline=message.headline, published=message.published)
        prepared = await self.prepare(draft)
        async with self._db.reading() as session:
            rules = await _rules(session, message.article_id)
        ranked = await self._rank(prepared.clean, rules)
        article = await _store_article(uow.session, message.article_id, draft, prepared)
        if await _rules(uow.session, article.id) == rules:
            # else an editor changed them meanwhile: the books are ranked when next asked for
            await _cache(uow.session, article, ranked, MAX_K)

    async def prepare(self, draft: ArticleDraft) -> PreparedArticle:
        """Check the input, fetch it if it is an address, and strip the page furniture."""
        limit = self._settings.max_article_chars
        source, source_url = draft.source, None
        if source.kind is SourceKind.URL:
            page = await self._fetcher.fetch(source.value)
            source_url = page.url
            kind = SourceKind.HTML if page.is_html else SourceKind.TEXT
            # A fetched page carries its furniture: the cap applies to what is left of it.
            source = ArticleSource(kind, check_text(page.content, max_chars=len(page.content)))
        elif source.kind is SourceKind.HTML:
            check_html(source.value, max_chars=self._settings.fetch_max_bytes)
        else:
            check_text(source.value, max_chars=limit)
        # the kind is known here: a guess from the tags would read text that quotes a tag
        # ("the <p> element") as HTML and lose its words
        clean = (
            clean_html(source.value) if source.kind is SourceKind.HTML else clean_text(source.value)
        )
        # An article that is one heading-like line is all headline to the cleaner: it is the text.
        text = check_clean_text(clean.text or clean.headline, max_chars=limit)
        given = (draft.headline or "").strip()
        if given:
            check_headline(given)
        # a headline of spaces is none given: the article's own is read instead
        headline = (given or clean.headline or "").strip()[:_HEADLINE_LENGTH]
        return PreparedArticle(CleanArticle(headline=headline, text=text), source_url)

    async def article_books(self, article_id: str, *, k: int = DEFAULT_K) -> ArticleBooks:
        """An article's books: cached, unless the index, the ranking (a deploy) or the
        editor's rules changed since."""
        check_k(k)
        async with self._db.reading() as session:
            article = await _article(session, article_id)
            position = await read_position(session)
            if (
                article.cached_version == position.version
                and article.cached_generation == position.generation
                and article.cached_ranking == self._index.ranking
                and (article.cached_k or 0) >= k
            ):
                cached = (
                    await session.scalars(
                        select(CachedBook)
                        .where(CachedBook.article_id == article_id)
                        .order_by(CachedBook.rank)
                        .limit(k)
                    )
                ).all()
                recommendations = [Recommendation(c.isbn13, c.score, c.reason) for c in cached]
                return ArticleBooks(
                    article=_summary(article),
                    books=await self._picks(session, article_id, recommendations),
                    index_version=position.version,
                )
            seen = article.updated_at
            rules = await _rules(session, article_id)
        # Ranked outside any transaction: a first ranking may take seconds to load the models.
        ranked = await self._rank(CleanArticle(headline=article.headline, text=article.text), rules)
        async with self._uow() as uow:
            article = await _article(uow.session, article_id, lock=True)
            if article.updated_at == seen:
                await _cache(uow.session, article, ranked, MAX_K)
            return ArticleBooks(
                article=_summary(article),
                books=await self._picks(uow.session, article_id, ranked.recommendations[:k]),
                index_version=ranked.position.version,
            )

    async def _rank(self, article: CleanArticle, rules: EditorRules) -> Ranked:
        """The article's books, as many as anyone may ask for, so the cache serves any k."""
        return await self._index.recommend(article, k=MAX_K, pins=rules.pins, bans=rules.bans)

    async def _picks(
        self, session: AsyncSession, article_id: str | None, recommendations: list[Recommendation]
    ) -> tuple[BookPick, ...]:
        isbns = [r.isbn13 for r in recommendations]
        rows = {
            b.isbn13: b
            for b in await session.scalars(
                select(Book).where(Book.isbn13.in_(isbns), Book.withdrawn.is_(False))
            )
        }
        public = self._settings.public_url.rstrip("/")
        return tuple(
            BookPick(
                isbn13=r.isbn13,
                title=rows[r.isbn13].title,
                authors=tuple(rows[r.isbn13].authors),
                price_pence=rows[r.isbn13].price_pence,
                available=rows[r.isbn13].available,
                reason=r.reason,
                score=r.score,
                link=public
                + (go_path(article_id, r.isbn13) if article_id else book_path(r.isbn13, None)),
            )
            for r in recommendations
            if r.isbn13 in rows
        )

    async def list_articles(self, *, limit: int, offset: int) -> list[ArticleSummary]:
        async with self._db.reading() as session:
            rows = await session.scalars(
                select(Article)
                .order_by(Article.updated_at.desc(), Article.id)
                .limit(limit)
                .offset(offset)
            )
            return [_summary(a) for a in rows]

    async def article(self, article_id: str) -> ArticleSummary:
        async with self._db.reading() as session:
            return _summary(await _article(session, article_id))

    # -- editors' pins and bans --------------------------------------------------------

    async def rules(self, article_id: str) -> EditorRules:
        async with self._db.reading() as session:
            await _article(session, article_id)
            return await _rules(session, article_id)

    async def titles(self, isbns: Sequence[str]) -> dict[str, str]:
        """The titles of books this service has heard of (withdrawn ones too), by ISBN."""
        if not isbns:
            return {}
        async with self._db.reading() as session:
            rows = await session.execute(
                select(Book.isbn13, Book.title).where(Book.isbn13.in_(list(isbns)))
            )
            return {row.isbn13: row.title for row in rows}

    async def find_books(self, words: str, *, limit: int) -> list[IndexedBook]:
        """Books on sale whose title or authors hold `words`: for pinning one the ranking
        missed."""
        return await self._index.find(words, limit=limit)

    async def set_rule(self, article_id: str, isbn: str, kind: RuleKind) -> EditorRules:
        """Pin (first, in the order pinned) or ban (never shown) a book for an article."""
        isbn13 = to_isbn13(isbn)
        async with self._uow() as uow:
            session = uow.session
            article = await _article(session, article_id, lock=True)
            if kind is RuleKind.PIN:
                book = await session.get(Book, isbn13)
                if book is None:
                    raise NotFound(
                        f"No book in the shop has the ISBN {isbn13}: check the number, or "
                        "find the book by its title or author."
                    )
                if book.withdrawn:
                    raise NotFound(f"Book {isbn13} is not on sale, so it cannot be pinned.")
            current = await session.get(EditorRule, (article_id, isbn13))
            if current is None or current.kind != kind:
                if current is not None:
                    await session.delete(current)
                    await session.flush()
                session.add(
                    EditorRule(article_id=article_id, isbn13=isbn13, kind=kind, created_at=utcnow())
                )
                await _forget_cache(session, article)
            await session.flush()
            return await _rules(session, article_id)

    async def drop_rule(self, article_id: str, isbn: str, kind: RuleKind) -> EditorRules:
        isbn13 = to_isbn13(isbn)
        async with self._uow() as uow:
            session = uow.session
            article = await _article(session, article_id, lock=True)
            current = await session.get(EditorRule, (article_id, isbn13))
            if current is not None and current.kind == kind:
                await session.delete(current)
                await _forget_cache(session, article)
            await session.flush()
            return await _rules(session, article_id)

    # -- links and what they brought ---------------------------------------------------

    async def follow_link(self, article_id: str, isbn: str, *, count: bool = True) -> str:
        """Say where an article's link lands (a path on the shop), recording the click if
        `count`: a crawler's visit or a browser's prefetch is no reader's click."""
        isbn13 = to_isbn13(isbn)
        async with self._uow() as uow:
            article = await _find_article(uow.session, article_id)
            book = await uow.session.get(Book, isbn13)
            if article is None and book is None:
                raise NotFound(f"There is no article {article_id!r} and no book {isbn13}.")
            if article is not None and count:
                uow.session.add(Click(article_id=article_id, isbn13=isbn13, at=utcnow()))
        shelf = _shelf(book) if book is not None else None
        alternatives: Sequence[ShelfBook] = ()
        if article is not None and (shelf is None or not shelf.on_sale):
            alternatives = await self._alternatives(article_id)
        return landing_path(
            article_id=article_id if article is not None else None,
            isbn13=isbn13,
            book=shelf,
            alternatives=alternatives,
        )

    async def _alternatives(self, article_id: str) -> list[ShelfBook]:
        """The article's books as last ranked, else ranked now."""
        async with self._db.reading() as session:
            rows = (
                await session.execute(
                    select(Book)
                    .join(CachedBook, CachedBook.isbn13 == Book.isbn13)
                    .where(CachedBook.article_id == article_id)
                    .order_by(CachedBook.rank)
                )
            ).scalars()
            cached = [_shelf(b) for b in rows]
        if cached:
            return cached
        books = (await self.article_books(article_id)).books
        return [ShelfBook(b.isbn13, b.title, b.available, withdrawn=False) for b in books]

    async def report(self, article_id: str) -> ArticleReport:
        async with self._db.reading() as session:
            article = await _article(session, article_id)
            clicks = {
                row.isbn13: int(row.clicks)
                for row in await session.execute(
                    select(Click.isbn13, func.count().label("clicks"))
                    .where(Click.article_id == article_id)
                    .group_by(Click.isbn13)
                )
            }
            refunds = (
                select(func.coalesce(func.sum(AttributedRefund.amount_pence), 0))
                .where(AttributedRefund.order_id == AttributedOrder.order_id)
                .scalar_subquery()
            )
            refunded_copies = await _refunded_copies(session, article_id)
            figures = [
                OrderFigures(
                    total_pence=order.total_pence,
                    refunds_pence=int(refunds_pence),
                    lines=tuple((line["isbn13"], int(line["quantity"])) for line in order.lines),
                    refunded_copies=refunded_copies.get(order.order_id, {}),
                )
                for order, refunds_pence in await session.execute(
                    select(AttributedOrder, refunds).where(AttributedOrder.article_id == article_id)
                )
            ]
            isbns = {*clicks, *(isbn for f in figures for isbn, _ in f.lines)}
            titles = {
                row.isbn13: row.title
                for row in await session.execute(
                    select(Book.isbn13, Book.title).where(Book.isbn13.in_(isbns))
                )
            }
        return article_report(
            article_id=article_id,
            headline=article.headline,
            clicks=clicks,
            orders=figures,
            titles=titles,
        )

    # -- the index ---------------------------------------------------------------------

    @property
    def index(self) -> LiveIndex:
        return self._index

    async def reindex(self) -> int:
        """Every process rebuilds its index at its next ranking; returns the books on sale."""
        async with self._uow() as uow:
            await request_rebuild(uow.session)
            return int(
                await uow.session.scalar(
                    select(func.count()).select_from(Book).where(Book.withdrawn.is_(False))
                )
                or 0
            )


# -- what the handlers write ---------------------------------------------------------------


async def apply_book_change(session: AsyncSession, change: BookChanged) -> bool:
    """Copy a book's facts from the catalogue's event; False when the event is stale."""
    book = await session.get(Book, change.isbn13, with_for_update=True)
    if book is not None and change.version <= book.version:
        return False
    index_version = await next_version(session)
    if book is None:
        book = Book(isbn13=change.isbn13, index_version=index_version)
        session.add(book)
    book.version = change.version
    book.title = change.title
    book.subtitle = change.subtitle
    book.authors = list(change.authors)
    book.publisher = change.publisher
    book.year = change.year
    book.format = change.format
    book.price_pence = change.price_pence
    book.subjects = list(change.subjects)
    book.description = change.description
    book.available = change.available
    book.withdrawn = change.withdrawn
    book.updated_at = utcnow()
    book.index_version = index_version
    return True


async def record_paid_order(session: AsyncSession, paid: OrderPaid) -> bool:
    """Remember an order that came from an article's link; False if it came from none."""
    if paid.attribution is None:
        return False
    if await session.get(AttributedOrder, paid.order_id) is not None:
        return False
    session.add(
        AttributedOrder(
            order_id=paid.order_id,
            article_id=paid.attribution.article_id[:ARTICLE_ID_LENGTH],
            isbn13=paid.attribution.isbn13,
            reference=paid.reference,
            lines=[{"isbn13": line.isbn13, "quantity": line.quantity} for line in paid.lines],
            total_pence=paid.total_pence,
            paid_at=paid.sent_at,
        )
    )
    return True


async def record_refund(session: AsyncSession, refund: OrderRefunded) -> bool:
    """Keep a refund of an order an article brought, whether its OrderPaid came yet or not;
    False for an order no article brought, and for a refund kept already.

    Each event carries the money that refund gave back, not the order's running total, so
    refunds add up; the report caps them at what the order paid.
    """
    if refund.amount_pence <= 0 and not refund.copies:
        return False
    if refund.attribution is None and await session.get(AttributedOrder, refund.order_id) is None:
        # Refunds sent before checkout named the article on them (still queued at an upgrade)
        # carry none: for those only a paid order here says an article brought it.
        return False
    if await session.get(AttributedRefund, refund.message_id) is not None:
        return False
    session.add(
        AttributedRefund(
            message_id=refund.message_id,
            order_id=refund.order_id,
            amount_pence=refund.amount_pence,
        )
    )
    copies = Counter[str]()
    for line in refund.copies:
        copies[line.isbn13] += line.quantity
    session.add_all(
        RefundedCopies(message_id=refund.message_id, isbn13=isbn13, quantity=quantity)
        for isbn13, quantity in copies.items()
    )
    return True


# -- helpers -------------------------------------------------------------------------------


async def _refunded_copies(session: AsyncSession, article_id: str) -> dict[UUID, dict[str, int]]:
    """Order id -> ISBN -> copies refunded, for the article's paid orders: a refund kept
    before its order's OrderPaid counts once the order is here."""
    refunded: dict[UUID, dict[str, int]] = {}
    rows = await session.execute(
        select(AttributedRefund.order_id, RefundedCopies.isbn13, func.sum(RefundedCopies.quantity))
        .join(RefundedCopies, RefundedCopies.message_id == AttributedRefund.message_id)
        .join(AttributedOrder, AttributedOrder.order_id == AttributedRefund.order_id)
        .where(AttributedOrder.article_id == article_id)
        .group_by(AttributedRefund.order_id, RefundedCopies.isbn13)
    )
    for order_id, isbn13, quantity in rows:
        refunded.setdefault(order_id, {})[isbn13] = int(quantity)
    return refunded


async def _article(session: AsyncSession, article_id: str, *, lock: bool = False) -> Article:
    article = await _find_article(session, article_id, lock=lock)
    if article is None:
        raise NotFound(f"There is no article {article_id!r}.")
    return article


async def _find_article(
    session: AsyncSession, article_id: str, *, lock: bool = False
) -> Article | None:
    """The article, None if there is none; an id no article can have (a link mistyped or made
    up: control characters, a path's worth of text) is not looked for."""
    if not ARTICLE_ID.fullmatch(article_id):
        return None
    return await session.get(Article, article_id, with_for_update=lock, populate_existing=lock)


async def _store_article(
    session: AsyncSession, article_id: str, draft: ArticleDraft, prepared: PreparedArticle
) -> Article:
    now = utcnow()
    facts = {
        "headline": prepared.clean.headline,
        "published": draft.published,
        "source_url": prepared.source_url,
        "text": prepared.clean.text,
        "updated_at": now,
    }
    article = await _find_article(session, article_id, lock=True)
    if article is None:
        try:
            # a savepoint: another request may be storing the same new article (an editor's
            # double submit, the CMS's message beside an editor's save)
            async with session.begin_nested():
                article = Article(id=article_id, created_at=now, **facts)
                session.add(article)
            return article
        except IntegrityError:
            article = await _article(session, article_id, lock=True)
    for name, value in facts.items():
        setattr(article, name, value)
    await _forget_cache(session, article)
    await session.flush()
    return article


async def _cache(session: AsyncSession, article: Article, ranked: Ranked, k: int) -> None:
    await session.execute(delete(CachedBook).where(CachedBook.article_id == article.id))
    session.add_all(
        CachedBook(article_id=article.id, rank=i, isbn13=r.isbn13, score=r.score, reason=r.reason)
        for i, r in enumerate(ranked.recommendations)
    )
    article.cached_version = ranked.position.version
    article.cached_generation = ranked.position.generation
    article.cached_ranking = ranked.ranking
    article.cached_k = k


async def _forget_cache(session: AsyncSession, article: Article) -> None:
    """Drop the article's ranked books: its text or its editor's rules changed, and a link to
    a book gone from the shop must not land on one ranked for the old ones."""
    await session.execute(delete(CachedBook).where(CachedBook.article_id == article.id))
    article.cached_version = article.cached_generation = article.cached_k = None
    article.cached_ranking = None
    article.updated_at = utcnow()


async def _rules(session: AsyncSession, article_id: str) -> EditorRules:
    rows = (
        await session.scalars(
            select(EditorRule)
            .where(EditorRule.article_id == article_id)
            .order_by(EditorRule.created_at, EditorRule.isbn13)
        )
    ).all()
    return EditorRules(
        article_id=article_id,
        pins=tuple(r.isbn13 for r in rows if r.kind == RuleKind.PIN),
        bans=tuple(r.isbn13 for r in rows if r.kind == RuleKind.BAN),
    )


def _summary(article: Article) -> ArticleSummary:
    return ArticleSummary(
        id=article.id,
        headline=article.headline,
        published=article.published,
        source_url=article.source_url,
    )


def _shelf(book: Book) -> ShelfBook:
    return ShelfBook(book.isbn13, book.title, book.available, book.withdrawn)


def build_service(
    runtime: ServiceRuntime,
    settings: RecommendationSettings,
    *,
    make_ranker: RankerFactory | None = None,
    fetcher: PageFetcher | None = None,
) -> RecommendationService:
    """The use cases over a runtime: shared by the web app and the worker.

    `make_ranker` replaces the shop's Ranker (tests share one set of loaded models).
    """
    index = LiveIndex(runtime.db, make_ranker or ranker_factory(rerank=settings.rerank))
    return RecommendationService(
        uow=runtime.uow,
        db=runtime.db,
        index=index,
        fetcher=fetcher or HttpFetcher.from_settings(settings),
        settings=settings,
    )


async def reindex_shop(
    settings: RecommendationSettings, *, make_ranker: RankerFactory | None = None
) -> tuple[int, float]:
    """`bookshop recommend reindex`: every process rebuilds, cached books go; this process
    rebuilds once too, so a broken book or model shows here. Returns (books, seconds)."""
    db = Database(settings.resolved_database_url())
    try:
        service = RecommendationService(
            uow=UnitOfWorkFactory(db, outbox),
            db=db,
            index=LiveIndex(db, make_ranker or ranker_factory(rerank=settings.rerank)),
            fetcher=HttpFetcher.from_settings(settings),
            settings=settings,
        )
        books = await service.reindex()
        await service.index.refresh()
        return books, service.index.last_build_seconds or 0.0
    finally:
        await db.dispose()
