"""With `index_in_background` the web app builds its index as it starts and applies the
catalogue's changes between rankings, so no reader waits for either; without it, both wait
for the next ranking."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from services.recommendation.app import INDEX_REFRESH_SECONDS, create_app
from services.recommendation.settings import RecommendationSettings

BUILD_WAIT_SECONDS = 60.0
NEW_ISBN = "9780000000002"


async def test_the_index_is_built_as_the_app_starts_when_asked(settings, builds, feed) -> None:
    await feed.catalogue()
    app = create_app(settings.model_copy(update={"index_in_background": True}), make_ranker=builds)
    async with AsyncTestClient(app=app) as client:
        # No request has been made: the app's start began the build.
        assert await asyncio.to_thread(builds.built.wait, BUILD_WAIT_SECONDS)
        # The first article is ranked on the index built at start, not on a new one.
        answer = await client.post("/recommendations", json={"text": "Strikes and pay.", "k": 3})
        assert answer.status_code == 200, answer.text
        assert builds.count == 1
        # A book the catalogue adds reaches the index with no ranking asked for.
        books = await _indexed_books(client)
        newcomer = {**next(iter(feed.records.values())), "isbn13": NEW_ISBN, "title": "New"}
        await feed.catalogue([newcomer])
        async with asyncio.timeout(BUILD_WAIT_SECONDS):
            # Polled over HTTP, as a person would see it: there is no event to wait on.
            while await _indexed_books(client) != books + 1:  # noqa: ASYNC110
                await asyncio.sleep(INDEX_REFRESH_SECONDS / 4)
        assert builds.count == 1


async def _indexed_books(client: AsyncTestClient) -> int:
    health = await client.get("/health/recommendation")
    return int(health.json()["index"]["books"])


async def test_by_default_the_index_waits_for_the_first_ranking(
    settings: RecommendationSettings, builds, feed
) -> None:
    await feed.catalogue()
    async with AsyncTestClient(app=create_app(settings, make_ranker=builds)) as client:
        assert (await client.get("/health/recommendation")).status_code == 200
        assert builds.count == 0
        answer = await client.post("/recommendations", json={"text": "Strikes and pay.", "k": 3})
        assert answer.status_code == 200, answer.text
        assert builds.count == 1
