"""Articles' links, their embeddable snippet and their report, on SQLite and Postgres."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from sqlalchemy import select

from services.recommendation import handlers
from services.recommendation.models import Click
from shared.contracts import Attribution, OrderLine, OrderPaid, OrderRefunded

CALLINICOS = "9798463348616"


@pytest.fixture
async def article(client, feed, seed_article, staff) -> list[dict]:
    """The seed article stored as `sw-2308`, with the catalogue; its books as first ranked."""
    await feed.catalogue()
    response = await client.post(
        "/recommendations",
        json={"text": seed_article, "article_id": "sw-2308", "k": 5},
        headers=staff,
    )
    assert response.status_code == 200, response.text
    return response.json()["books"]


async def clicks(feed) -> list[tuple[str, str]]:
    async with feed.db.reading() as session:
        rows = await session.scalars(select(Click).order_by(Click.id))
        return [(c.article_id, c.isbn13) for c in rows]


async def test_a_link_records_the_click_and_lands_on_the_book_with_the_article(
    client, feed, article
) -> None:
    response = await client.get(f"/go/sw-2308/{CALLINICOS}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/books/{CALLINICOS}?article=sw-2308"
    assert await clicks(feed) == [("sw-2308", CALLINICOS)]


async def test_a_gone_book_lands_on_the_articles_best_other_book_in_stock_and_still_counts(
    client, feed, article
) -> None:
    await feed.events(feed.event(CALLINICOS, version=2, withdrawn=True))
    in_stock = [b["isbn13"] for b in article[1:] if b["available"] > 0]

    response = await client.get(f"/go/sw-2308/{CALLINICOS}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/books/{in_stock[0]}?article=sw-2308&gone={CALLINICOS}"
    )
    assert await clicks(feed) == [("sw-2308", CALLINICOS)]


async def test_a_gone_book_never_lands_on_a_book_the_editor_banned_since(
    client, feed, article, staff
) -> None:
    in_stock = [b["isbn13"] for b in article[1:] if b["available"] > 0]
    banned = await client.post(
        f"/api/recommendation/articles/sw-2308/bans/{in_stock[0]}", headers=staff
    )
    assert banned.status_code == 200, banned.text
    await feed.events(feed.event(CALLINICOS, version=2, withdrawn=True))

    response = await client.get(f"/go/sw-2308/{CALLINICOS}", follow_redirects=False)

    assert response.status_code == 303
    landing = response.headers["location"]
    assert landing.startswith("/books/") and in_stock[0] not in landing


async def test_a_gone_book_lands_on_a_book_of_the_articles_new_text(
    client, feed, article, staff
) -> None:
    text = "Tony Cliff's State Capitalism in Russia on Stalin's Russia and its rulers."
    replaced = await client.post(
        "/recommendations", json={"text": text, "article_id": "sw-2308", "k": 5}, headers=staff
    )
    assert replaced.status_code == 200, replaced.text
    now = [b["isbn13"] for b in replaced.json()["books"]]
    await feed.events(feed.event(now[0], version=2, withdrawn=True))

    response = await client.get(f"/go/sw-2308/{now[0]}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].split("?")[0] in {f"/books/{i}" for i in now[1:]}


async def test_an_unknown_book_of_a_known_article_lands_on_its_best_book(
    client, feed, article
) -> None:
    response = await client.get("/go/sw-2308/9780000000002", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/books/{CALLINICOS}?article=sw-2308&gone=9780000000002"
    )
    assert await clicks(feed) == [("sw-2308", "9780000000002")]


async def test_with_no_alternative_a_gone_book_lands_on_a_search_for_its_title(
    client, feed, staff
) -> None:
    await feed.events(feed.event(CALLINICOS))
    text = "Alex Callinicos, Imperialism and Global Political Economy, reviewed."
    await client.post(
        "/recommendations", json={"text": text, "article_id": "only-one"}, headers=staff
    )
    await feed.events(feed.event(CALLINICOS, version=2, withdrawn=True))

    response = await client.get(f"/go/only-one/{CALLINICOS}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/search?q=Imperialism+and+Global+Political+Economy&gone={CALLINICOS}"
    )
    assert await clicks(feed) == [("only-one", CALLINICOS)]


# the second: a NUL, which Postgres cannot even compare, in an id someone typed or made up
@pytest.mark.parametrize("article_id", ["no-such-article", "sw%002308"])
async def test_an_unknown_article_still_reaches_the_book_but_counts_nothing(
    client, feed, article, article_id: str
) -> None:
    response = await client.get(f"/go/{article_id}/{CALLINICOS}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/books/{CALLINICOS}"
    assert await clicks(feed) == []


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("HEAD", {}),
        (
            "GET",
            {
                "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
            },
        ),
        ("GET", {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}),
        ("GET", {"User-Agent": "facebookexternalhit/1.1"}),
        ("GET", {"Sec-Purpose": "prefetch"}),
        ("GET", {"Sec-Purpose": "prefetch;prerender"}),
        ("GET", {"Purpose": "prefetch"}),
    ],
)
async def test_a_link_checker_a_crawler_or_a_prefetch_lands_on_the_book_but_counts_nothing(
    client, feed, article, method: str, headers: dict[str, str]
) -> None:
    response = await client.request(
        method, f"/go/sw-2308/{CALLINICOS}", headers=headers, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/books/{CALLINICOS}?article=sw-2308"
    assert await clicks(feed) == []


async def test_an_unknown_article_and_an_unknown_book_is_not_found(client, feed, article) -> None:
    response = await client.get("/go/no-such-article/9780000000002", follow_redirects=False)
    not_isbn = await client.get("/go/sw-2308/not-an-isbn", follow_redirects=False)

    assert response.status_code == 404
    assert not_isbn.status_code == 400
    assert await clicks(feed) == []


async def test_the_snippet_is_plain_html_with_each_book_linked_priced_and_available(
    client, feed, article
) -> None:
    await feed.events(feed.event(article[1]["isbn13"], version=2, available=0))

    response = await client.get("/articles/sw-2308/snippet", params={"k": 3})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r"""(?:src|href)=["'](?!http://shop\.test/go/)""", html)
    links = re.findall(r'href="([^"]+)"', html)
    assert links == [f"http://shop.test/go/sw-2308/{b['isbn13']}" for b in article[:3]]
    assert "Imperialism and Global Political Economy" in html
    assert "by Alex Callinicos" in html
    assert "£19.99" in html
    # An out-of-stock book's page has no Buy button: the snippet promises nothing more.
    availability = re.findall(r'class="bookshop-availability">([^<]*)<', html)
    assert availability == ["In stock", "Out of stock", "In stock"]


async def test_the_snippets_links_open_the_book_in_the_whole_window(client, article) -> None:
    # A page without scripts or a server that includes pages can only frame the snippet; a
    # link that opened the shop inside the frame would show the book page in a small box.
    response = await client.get("/articles/sw-2308/snippet")

    targets = re.findall(r'<a [^>]*?target="([^"]*)"', response.text)
    assert targets == ["_top"] * len(article)


@pytest.mark.parametrize("accept", ["text/html", "*/*"])
async def test_the_snippet_of_an_unknown_article_is_not_found_and_shows_nothing(
    client, accept: str
) -> None:
    # The article's page includes the answer as it is: an error page, or JSON, showed in it.
    response = await client.get("/articles/nope/snippet", headers={"Accept": accept})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!--") and response.text.endswith("-->")


async def test_the_report_counts_clicks_per_book_and_the_orders_the_article_brought(
    client, feed, article, staff
) -> None:
    second = article[1]["isbn13"]
    for isbn in (CALLINICOS, CALLINICOS, second):
        await client.get(f"/go/sw-2308/{isbn}", follow_redirects=False)
    paid = OrderPaid(
        order_id=uuid4(),
        reference="BK-2001",
        lines=(OrderLine(isbn13=CALLINICOS, quantity=2, unit_price_pence=1999),),
        total_pence=4348,
        attribution=Attribution(article_id="sw-2308", isbn13=CALLINICOS),
    )
    other = OrderPaid(
        order_id=uuid4(),
        reference="BK-2002",
        lines=(OrderLine(isbn13=second, quantity=1, unit_price_pence=1000),),
        total_pence=1000,
        attribution=Attribution(article_id="sw-2308", isbn13=second),
    )
    async with feed.uows() as uow:
        await handlers.on_order_paid(paid, uow=uow)
        await handlers.on_order_paid(other, uow=uow)
        await handlers.on_order_refunded(
            OrderRefunded(order_id=other.order_id, reference="BK-2002", amount_pence=1000), uow=uow
        )

    response = await client.get("/api/recommendation/articles/sw-2308/report", headers=staff)

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["clicks"], report["orders"]) == (3, 2)
    assert (report["gross_pence"], report["refunded_pence"], report["revenue_pence"]) == (
        5348,
        1000,
        4348,
    )
    assert report["books"][0] == {
        "isbn13": CALLINICOS,
        "title": "Imperialism and Global Political Economy",
        "clicks": 2,
        "copies_sold": 2,
    }
    assert report["books"][1]["isbn13"] == second
    assert (report["books"][1]["clicks"], report["books"][1]["copies_sold"]) == (1, 1)
    unauthorised = await client.get("/api/recommendation/articles/sw-2308/report")
    assert unauthorised.status_code == 401
