"""The recommendation service's integration fixtures: a migrated database (SQLite and Postgres),
the web app on it, books fed in as the catalogue's events, and one set of loaded models per
test session (each Ranker built in a test shares them, and the vectors they computed)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from services.recommendation import handlers
from services.recommendation.app import create_app
from services.recommendation.books import IndexedBook
from services.recommendation.models import outbox
from services.recommendation.ranking import Ranker
from services.recommendation.ranking_config import RankerConfig
from services.recommendation.semantic import Embedder, minilm_embedder, wordllama_embedder
from services.recommendation.settings import RecommendationSettings
from shared.auth.roles import Role
from shared.auth.settings import StaffAuthSettings
from shared.contracts import BookChanged
from shared.db import Database
from shared.messaging.unit_of_work import UnitOfWorkFactory

DATA = Path(__file__).parents[2] / "data"
PUBLIC_URL = "http://shop.test"


class RememberingEmbedder:
    """A loaded model that remembers each text's vector: books are embedded once per session."""

    def __init__(self, model: Embedder) -> None:
        self._model = model
        self.dimensions = model.dimensions
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            for text, vector in zip(missing, self._model.embed(missing), strict=True):
                self._vectors[text] = vector
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


class RankerBuilds:
    """Builds Rankers with the session's models and counts them (a full rebuild shows here)."""

    def __init__(
        self, word: Embedder, rerank: Embedder, config: RankerConfig | None = None
    ) -> None:
        self._word = word
        self._rerank = rerank
        self.config = config or RankerConfig()
        self.count = 0
        self.built = threading.Event()

    def __call__(self, books: Iterable[IndexedBook]) -> Ranker:
        self.count += 1
        ranker = Ranker(books, config=self.config, word_model=self._word, rerank_model=self._rerank)
        self.built.set()
        return ranker


@pytest.fixture(scope="session")
def embedders() -> tuple[RememberingEmbedder, RememberingEmbedder]:
    return RememberingEmbedder(wordllama_embedder()), RememberingEmbedder(minilm_embedder())


@pytest.fixture
def builds(embedders: tuple[RememberingEmbedder, RememberingEmbedder]) -> RankerBuilds:
    return RankerBuilds(*embedders)


@pytest.fixture
def builds_with(
    embedders: tuple[RememberingEmbedder, RememberingEmbedder],
) -> Callable[[RankerConfig], RankerBuilds]:
    """Builds for another process: another deploy when the config differs."""

    return lambda config: RankerBuilds(*embedders, config=config)


@pytest.fixture
def recommendation_url(database_url: str, migrate: Callable[[str, str], None]) -> str:
    migrate("services.recommendation:migrations", database_url)
    return database_url


@pytest.fixture
def settings(
    recommendation_url: str, redis_url: str, staff_auth: StaffAuthSettings
) -> RecommendationSettings:
    return RecommendationSettings(
        database_url=recommendation_url,
        redis_url=redis_url,
        public_url=PUBLIC_URL,
        staff_auth=staff_auth,
        fetch_timeout_seconds=1.0,
        fetch_max_bytes=256 * 1024,
        # The input tests serve articles from a loopback server.
        fetch_allow_private_addresses=True,
    )


@pytest.fixture
async def db(recommendation_url: str) -> AsyncIterator[Database]:
    database = Database(recommendation_url)
    yield database
    await database.dispose()


@pytest.fixture
def app(settings: RecommendationSettings, builds: RankerBuilds) -> Litestar:
    return create_app(settings, make_ranker=builds)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


def catalogue_records() -> list[dict[str, Any]]:
    with (DATA / "books.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def book_changed(record: dict[str, Any], **changes: Any) -> BookChanged:
    """The catalogue's event for a books.jsonl record (stock as availability), changed as given."""
    fields = {k: v for k, v in record.items() if k in BookChanged.__struct_fields__}
    fields.setdefault("available", record.get("stock", 0))
    fields.setdefault("version", 1)
    return BookChanged(**{**fields, **changes})


class Feed:
    """Delivers the catalogue's events to the service's handler, as its worker would."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.uows = UnitOfWorkFactory(db, outbox)
        self.records = {r["isbn13"]: r for r in catalogue_records()}

    def event(self, of: str, **changes: Any) -> BookChanged:
        """The event for the record of ISBN `of`, with `changes`."""
        return book_changed(self.records[of], **changes)

    async def events(self, *events: BookChanged) -> None:
        async with self.uows() as uow:
            for event in events:
                await handlers.on_book_changed(event, uow=uow)

    async def catalogue(self, records: list[dict[str, Any]] | None = None) -> None:
        await self.events(*(book_changed(r) for r in records or catalogue_records()))

    async def count(self, table: Any, *where: Any) -> int:
        async with self.db.reading() as session:
            query = select(func.count()).select_from(table)
            for condition in where:
                query = query.where(condition)
            return int(await session.scalar(query) or 0)


@pytest.fixture
def feed(db: Database) -> Feed:
    return Feed(db)


@pytest.fixture
async def staff(staff_credentials: Callable[..., Awaitable[Any]]) -> dict[str, str]:
    """Headers of a request from erin, signed in as an editor."""
    erin = await staff_credentials(Role.EDITOR, username="erin")
    return dict(erin.headers)


@pytest.fixture
def seed_article() -> str:
    return (DATA / "seed-article.txt").read_text(encoding="utf-8")
