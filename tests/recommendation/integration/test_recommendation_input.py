"""Articles in through the HTTP API: text, HTML, a page on a local server; and bad input, each
answered with a clear 4xx and nothing stored."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.recommendation.models import Article

CALLINICOS = "9798463348616"
ARTICLE_HTML = """<!doctype html><html><head><title>Empire today | The Paper</title></head>
<body><nav><a href="/">Home</a> <a href="/subscribe">Subscribe</a></nav>
<article><h1>Empire today</h1>
<p>Alex Callinicos's Imperialism and Global Political Economy explains the rivalry between
the great powers as the meeting of capitalist competition and geopolitics.</p>
<p>From the scramble for colonies to the rise of China, the logic is the same.</p>
<div class="share-buttons">Share this article on Facebook</div></article>
<footer>All rights reserved</footer></body></html>"""


class ArticlePages(BaseHTTPRequestHandler):
    """An article, a page too slow to wait for, pages too big to read, something not a page."""

    def do_GET(self) -> None:
        if self.path == "/article":
            self._send(200, "text/html; charset=utf-8", ARTICLE_HTML.encode())
        elif self.path == "/plain":
            self._send(200, "text/plain", b"Empire today\n\n" + ARTICLE_HTML[200:600].encode())
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, "text/html", ARTICLE_HTML.encode())
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"<p>a</p>")
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/huge":
            self._send(200, "text/html", b"<p>" + b"word " * 200_000 + b"</p>")
        elif self.path == "/huge-undeclared":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"<p>" + b"word " * 2_000 + b"</p>")
        elif self.path == "/image":
            self._send(200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(500))
        else:
            self._send(404, "text/plain", b"not here")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # the fetcher may give up reading, as it should with a huge page
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ArticlePages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def shop(feed) -> None:
    await feed.catalogue([*list(feed.records.values())[:30], feed.records[CALLINICOS]])


async def post(client, staff, **body: object):
    return await client.post(
        "/recommendations", json={"article_id": "to-store", **body}, headers=staff
    )


async def test_an_article_fetched_from_its_address_is_stored_clean_with_its_books(
    client, feed, staff, shop, pages
) -> None:
    response = await post(client, staff, url=f"{pages}/article")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["books"][0]["isbn13"] == CALLINICOS
    assert body["article"]["headline"] == "Empire today"
    assert body["article"]["source_url"] == f"{pages}/article"
    async with feed.db.reading() as session:
        stored = await session.get(Article, "to-store")
    assert stored is not None
    assert "explains the rivalry between" in stored.text
    assert "Subscribe" not in stored.text and "Share this article" not in stored.text


async def test_a_plain_text_page_is_read_as_text(client, staff, shop, pages) -> None:
    response = await post(client, staff, url=f"{pages}/plain")
    assert response.status_code == 200, response.text


async def test_text_that_quotes_a_tag_is_kept_as_text(client, feed, staff, shop) -> None:
    # read as HTML, the words before "<p>" and the headline were lost
    text = (
        "How the web was won\n\n"
        "A page's <p> element holds a paragraph, and Alex Callinicos's Imperialism and "
        "Global Political Economy holds the argument.\n\nSubscribe to our newsletter"
    )

    response = await post(client, staff, text=text)

    assert response.status_code == 200, response.text
    assert response.json()["article"]["headline"] == "How the web was won"
    async with feed.db.reading() as session:
        stored = await session.get(Article, "to-store")
    assert stored is not None
    assert "A page's <p> element holds a paragraph" in stored.text
    assert "Subscribe" not in stored.text


async def test_html_is_cleaned_like_a_fetched_page(client, staff, shop) -> None:
    response = await post(client, staff, html=ARTICLE_HTML, headline="My own headline")

    assert response.status_code == 200, response.text
    assert response.json()["article"]["headline"] == "My own headline"
    assert response.json()["books"][0]["isbn13"] == CALLINICOS


async def test_a_whole_page_pasted_as_html_is_read_past_the_usual_body_limit(
    client, staff, shop
) -> None:
    # a real page's scripts make its HTML far longer than its article, and JSON's escapes make
    # the request longer still: here 200,000 characters of HTML (the cap in these tests is
    # 262,144) in about 400,000 bytes of JSON, past the app's usual 256 KiB for a body
    padding = "<script>var quotes = '" + '"' * 200_000 + "';</script>"
    page = ARTICLE_HTML.replace("<body>", f"<body>{padding}")

    response = await post(client, staff, html=page, article_id="pasted")

    assert response.status_code == 200, response.text[:300]
    assert response.json()["books"][0]["isbn13"] == CALLINICOS


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"text": ""}, 400, "empty"),
        ({"text": "   \n\t "}, 400, "empty"),
        ({"text": "strike " * 30_000}, 400, "200,000"),
        ({"text": "PK\x03\x04\x00\x00binary\x00\x00"}, 400, "binary"),
        ({"html": "Just words, no tags at all."}, 400, "no tags"),
        ({"html": "<p>\x00\x01\x02\x03\x04\x05</p>" * 20}, 400, "binary"),
        ({"html": "<nav>Subscribe</nav><footer>All rights reserved</footer>"}, 422, "Nothing"),
        ({"text": "Strikes", "html": "<p>Strikes</p>"}, 400, "exactly one"),
        ({}, 400, "exactly one"),
        ({"url": "ftp://example.org/article"}, 400, "http and https"),
        ({"url": "file:///etc/passwd"}, 400, "http and https"),
        ({"url": "javascript:alert(1)"}, 400, "http and https"),
        ({"url": "  "}, 400, "The article's address is empty."),
        ({"text": "Strikes", "k": 0}, 400, "k"),
        ({"text": "Strikes", "k": 51}, 400, "k"),
        ({"text": "Strikes", "article_id": "has spaces/and slashes"}, 400, "article_id"),
        ({"text": "Strikes", "unexpected": 1}, 400, "unexpected"),
        ({"text": "Strikes", "article_id": "a1", "headline": "a\x00b"}, 400, "control"),
    ],
    ids=[
        "empty",
        "blank",
        "huge",
        "binary-text",
        "html-without-tags",
        "binary-html",
        "only-furniture",
        "two-sources",
        "no-source",
        "ftp",
        "file",
        "javascript",
        "blank-address",
        "k-zero",
        "k-too-big",
        "bad-article-id",
        "unknown-field",
        "nul-in-headline",
    ],
)
async def test_bad_input_is_refused_clearly_and_nothing_is_stored(
    client, feed, staff, shop, body, status, message
) -> None:
    response = await post(client, staff, **body)

    assert response.status_code == status, response.text
    assert message in response.text
    assert await feed.count(Article) == 0


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/slow", "within 1 seconds"),
        ("/drip", "within 1 seconds"),
        ("/huge", "larger than 256 KB"),
        ("/huge-undeclared", "larger than 256 KB"),
        ("/image", "image/png"),
        ("/missing", "404"),
    ],
    ids=["slow", "drip", "huge", "huge-undeclared", "not-a-page", "not-found"],
)
async def test_a_page_that_cannot_be_read_is_refused_clearly_and_nothing_is_stored(
    client, feed, staff, shop, pages, path, message
) -> None:
    started = time.monotonic()
    response = await post(client, staff, url=f"{pages}{path}")

    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert time.monotonic() - started < 2.5
    assert await feed.count(Article) == 0


async def test_an_unreachable_address_is_refused_clearly(client, feed, staff, shop) -> None:
    response = await post(client, staff, url="http://127.0.0.1:9/article")

    assert response.status_code == 422
    assert "Could not fetch" in response.json()["detail"]
    assert await feed.count(Article) == 0


async def test_a_headline_of_spaces_is_no_headline_and_the_articles_own_is_read(
    client, staff, shop
) -> None:
    text = "Empire today\n\nAlex Callinicos on imperialism and the rivalry of the great powers."

    response = await post(client, staff, text=text, headline="   ")

    assert response.status_code == 200, response.text
    assert response.json()["article"]["headline"] == "Empire today"
