"""The JSON API on SQLite and Postgres: an article in, ranked books out, kept current by events."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from services.recommendation.app import create_app
from services.recommendation.fingerprint import ranking_fingerprint
from services.recommendation.models import Article, CachedBook, Click
from services.recommendation.ranking_config import RankerConfig
from services.recommendation.service import reindex_shop
from shared.auth.csrf import CSRF_COOKIE, CSRF_HEADER

CALLINICOS = "9798463348616"


async def test_the_seed_article_gives_callinicos_first_with_a_reason_and_a_link(
    client, feed, seed_article
) -> None:
    await feed.catalogue()

    response = await client.post("/recommendations", json={"text": seed_article})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["article"] is None
    first = body["books"][0]
    assert first["isbn13"] == CALLINICOS
    assert first["title"] == "Imperialism and Global Political Economy"
    assert first["authors"] == ["Alex Callinicos"]
    assert (first["price_pence"], first["available"]) == (1999, 6)
    assert "names this book" in first["reason"]
    assert first["link"] == f"http://shop.test/books/{CALLINICOS}"
    assert len(body["books"]) == 5
    assert all(book["reason"] for book in body["books"])
    scores = [b["score"] for b in body["books"][1:]]
    assert scores == sorted(scores, reverse=True)
    # nothing is stored without an article id
    assert await feed.count(Article) == 0


async def test_with_an_article_id_the_article_is_stored_and_its_links_count_clicks(
    client, feed, seed_article, staff
) -> None:
    await feed.catalogue()

    response = await client.post(
        "/recommendations",
        json={"text": seed_article, "k": 3, "article_id": "sw-2308", "published": "2012-06-19"},
        headers=staff,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["article"]["id"] == "sw-2308"
    assert body["article"]["headline"] == "Revolution in the 'progressive' bloc"
    assert body["article"]["published"] == "2012-06-19"
    assert body["books"][0]["link"] == f"http://shop.test/go/sw-2308/{CALLINICOS}"
    assert len(body["books"]) == 3
    async with feed.db.reading() as session:
        article = await session.get(Article, "sw-2308")
    assert article is not None
    # the page furniture is gone from what is stored
    assert "Issue No" not in article.text and "Share this article" not in article.text
    assert "socialism in one country" in article.text


async def test_storing_an_article_needs_an_editor(client, feed, seed_article) -> None:
    await feed.catalogue()

    response = await client.post(
        "/recommendations", json={"text": seed_article, "article_id": "sw-2308"}
    )

    assert response.status_code == 401
    assert await feed.count(Article) == 0


async def test_a_price_or_stock_change_shows_in_results_without_a_rebuild(
    client, feed, seed_article, builds
) -> None:
    await feed.catalogue()
    before = (await client.post("/recommendations", json={"text": seed_article})).json()
    assert before["books"][0]["price_pence"] == 1999
    assert builds.count == 1

    await feed.events(feed.event(CALLINICOS, version=2, price_pence=2499, available=1))
    after = (await client.post("/recommendations", json={"text": seed_article})).json()

    assert after["books"][0]["isbn13"] == CALLINICOS
    assert (after["books"][0]["price_pence"], after["books"][0]["available"]) == (2499, 1)
    assert after["index_version"] > before["index_version"]
    assert builds.count == 1


async def test_a_new_book_is_indexed_from_its_event_without_a_rebuild(client, feed, builds) -> None:
    records = list(feed.records.values())
    await feed.catalogue(records[:40])
    text = "A history of the Tolpuddle martyrs and the birth of farm labourers' unions in Dorset."
    await client.post("/recommendations", json={"text": text})

    new_book = feed.event(
        records[100]["isbn13"],
        isbn13="9780000000002",
        title="The Tolpuddle Martyrs",
        authors=("Joyce Marlow",),
        description="Six Dorset farm labourers transported for forming a union in 1834.",
    )
    await feed.events(new_book)
    response = await client.post("/recommendations", json={"text": text})

    assert response.status_code == 200, response.text
    assert response.json()["books"][0]["isbn13"] == "9780000000002"
    assert builds.count == 1


async def test_an_articles_books_are_cached_until_the_index_changes(
    client, feed, seed_article, staff
) -> None:
    await feed.catalogue()
    await client.post(
        "/recommendations", json={"text": seed_article, "article_id": "a1"}, headers=staff
    )

    first = await client.get("/articles/a1/books", params={"k": 4})
    again = await client.get("/articles/a1/books", params={"k": 4})

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(first.json()["books"]) == 4
    async with feed.db.reading() as session:
        cached = (await session.scalars(select(CachedBook).order_by(CachedBook.rank))).all()
        article = await session.get(Article, "a1")
    assert cached[0].isbn13 == CALLINICOS
    assert article is not None and article.cached_version == first.json()["index_version"]

    await feed.events(feed.event(CALLINICOS, version=2, price_pence=1500))
    changed = (await client.get("/articles/a1/books", params={"k": 4})).json()

    assert changed["index_version"] > first.json()["index_version"]
    assert changed["books"][0]["price_pence"] == 1500
    async with feed.db.reading() as session:
        article = await session.get(Article, "a1")
    assert article is not None and article.cached_version == changed["index_version"]


async def test_a_deploy_that_ranks_differently_ranks_a_cached_article_again(
    client, builds, builds_with, settings, feed, seed_article, staff
) -> None:
    await feed.catalogue()
    await client.post(
        "/recommendations", json={"text": seed_article, "article_id": "a1"}, headers=staff
    )
    cached = (await client.get("/articles/a1/books", params={"k": 4})).json()
    restarted = builds_with(RankerConfig())
    redeployed = builds_with(RankerConfig(rerank=False))

    async with AsyncTestClient(app=create_app(settings, make_ranker=restarted)) as same:
        served = (await same.get("/articles/a1/books", params={"k": 4})).json()
    async with AsyncTestClient(app=create_app(settings, make_ranker=redeployed)) as changed:
        ranked = (await changed.get("/articles/a1/books", params={"k": 4})).json()

    # the same ranking restarted serves the cache without loading a model
    assert served == cached
    assert restarted.count == 0
    # another ranking does not serve the old one's books: it ranks them, and its own are kept
    assert redeployed.count == 1
    assert [b["score"] for b in ranked["books"]] != [b["score"] for b in cached["books"]]
    async with feed.db.reading() as session:
        article = await session.get(Article, "a1")
    assert article is not None
    assert article.cached_ranking == ranking_fingerprint(redeployed.config)
    assert article.cached_ranking != ranking_fingerprint(builds.config)


async def test_an_unknown_article_has_no_books(client) -> None:
    response = await client.get("/articles/nobody/books")
    assert response.status_code == 404
    assert "nobody" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/articles/{id}/books", "/articles/{id}/snippet"])
async def test_an_id_no_article_can_have_is_not_found(client, path: str) -> None:
    # a NUL, which Postgres cannot even compare, in a link someone typed or made up
    response = await client.get(path.format(id="sw%002308"))
    assert response.status_code == 404


async def test_pins_come_first_in_order_and_bans_never_appear(
    client, feed, seed_article, staff
) -> None:
    await feed.catalogue()
    await client.post(
        "/recommendations", json={"text": seed_article, "article_id": "a1"}, headers=staff
    )
    cookery = next(r["isbn13"] for r in feed.records.values() if "cookery" in r["subjects"])
    travel = next(r["isbn13"] for r in feed.records.values() if "travel" in r["subjects"])
    base = "/api/recommendation/articles/a1"

    for isbn in (travel, cookery):
        response = await client.post(f"{base}/pins/{isbn}", headers=staff)
        assert response.status_code == 200, response.text
    banned = await client.post(f"{base}/bans/{CALLINICOS}", headers=staff)
    books = (await client.get("/articles/a1/books", params={"k": 10})).json()["books"]

    assert banned.json() == {"article_id": "a1", "pins": [travel, cookery], "bans": [CALLINICOS]}
    assert [b["isbn13"] for b in books[:2]] == [travel, cookery]
    assert "Pinned" in books[0]["reason"]
    assert CALLINICOS not in [b["isbn13"] for b in books]

    await client.delete(f"{base}/bans/{CALLINICOS}", headers=staff)
    await client.delete(f"{base}/pins/{travel}", headers=staff)
    books = (await client.get("/articles/a1/books", params={"k": 10})).json()["books"]
    assert [b["isbn13"] for b in books[:2]] == [cookery, CALLINICOS]


async def test_pinning_needs_an_editor_a_known_article_and_a_book_on_sale(
    client, feed, seed_article, staff
) -> None:
    await feed.catalogue()
    await client.post(
        "/recommendations", json={"text": seed_article, "article_id": "a1"}, headers=staff
    )

    signed_out = await client.post(
        f"/api/recommendation/articles/a1/pins/{CALLINICOS}",
        headers={"Cookie": f"{CSRF_COOKIE}={staff[CSRF_HEADER]}", CSRF_HEADER: staff[CSRF_HEADER]},
    )
    without_csrf_token = await client.post(
        f"/api/recommendation/articles/a1/pins/{CALLINICOS}", headers={"Cookie": staff["Cookie"]}
    )
    unknown_article = await client.post(
        f"/api/recommendation/articles/nope/pins/{CALLINICOS}", headers=staff
    )
    unknown_book = await client.post(
        "/api/recommendation/articles/a1/pins/9780000000002", headers=staff
    )
    not_an_isbn = await client.post("/api/recommendation/articles/a1/pins/12345", headers=staff)

    assert signed_out.status_code == 401
    assert without_csrf_token.status_code == 403
    assert unknown_article.status_code == 404
    assert unknown_book.status_code == 404
    assert not_an_isbn.status_code == 400


async def test_the_editors_list_of_articles_newest_first(client, feed, staff) -> None:
    await feed.catalogue(list(feed.records.values())[:20])
    for article_id in ("first", "second"):
        response = await client.post(
            "/recommendations",
            json={"text": f"The {article_id} article is about strikes.", "article_id": article_id},
            headers=staff,
        )
        assert response.status_code == 200, response.text

    listed = await client.get("/api/recommendation/articles", headers=staff)

    assert [a["id"] for a in listed.json()] == ["second", "first"]
    assert (await client.get("/api/recommendation/articles")).status_code == 401


async def test_reindex_clears_the_cache_and_the_next_ranking_rebuilds(
    settings, client, feed, seed_article, staff, builds
) -> None:
    await feed.catalogue()
    await client.post(
        "/recommendations", json={"text": seed_article, "article_id": "a1"}, headers=staff
    )
    assert builds.count == 1
    # `bookshop recommend reindex` runs in a process of its own, and rebuilds there too
    on_sale, seconds = await reindex_shop(settings, make_ranker=builds)

    assert builds.count == 2 and seconds > 0
    assert on_sale == len(feed.records)
    assert await feed.count(CachedBook) == 0
    body = (await client.get("/articles/a1/books")).json()

    assert body["books"][0]["isbn13"] == CALLINICOS
    assert builds.count == 3
    assert await feed.count(CachedBook) > 0


async def test_health_reports_database_broker_and_index(client, feed) -> None:
    response = await client.get("/health/recommendation")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert body["index"] == {"built": False, "books": 0}
    assert await feed.count(Click) == 0
