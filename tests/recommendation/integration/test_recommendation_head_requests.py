"""HEAD on the snippet an article's page includes: link checkers and CMSs ask with HEAD and
read a 405 as a broken link. HEAD answers as GET would, without the body. (The article's links,
/go/..., answer HEAD too: see test_recommendation_links.)"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

SNIPPET = "/articles/sw-2308/snippet"


@pytest.fixture
async def article(client, feed, seed_article, staff) -> str:
    """The seed article stored as `sw-2308`, with the catalogue; its id."""
    await feed.catalogue()
    response = await client.post(
        "/recommendations",
        json={"text": seed_article, "article_id": "sw-2308", "k": 5},
        headers=staff,
    )
    assert response.status_code == 200, response.text
    return "sw-2308"


def sent_by_the_app(client: AsyncTestClient[Any], method: str, path: str) -> list[dict[str, Any]]:
    """The messages the app itself sends: the test client, like a server, drops a HEAD body.
    Run as the client runs the app, on its portal's event loop (where the app's pools live)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"shop.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("shop.test", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with client.portal() as portal:
        portal.call(client.app, scope, receive, send)
    return sent


async def test_head_on_the_snippet_answers_as_get_does_without_the_body(client, article) -> None:
    got = await client.get(SNIPPET)
    head = await client.head(SNIPPET)

    assert head.status_code == 200
    for name in ("content-type", "cache-control"):
        assert head.headers[name] == got.headers[name], name
    assert head.headers["content-type"].startswith("text/html")
    assert head.headers["cache-control"] == "max-age=60, public"
    start, *bodies = sent_by_the_app(client, "HEAD", SNIPPET)
    assert start["status"] == 200
    assert b"".join(message["body"] for message in bodies) == b""
    # GET, through the same route, still has its body.
    _, *got_bodies = sent_by_the_app(client, "GET", SNIPPET)
    assert b"bookshop-availability" in b"".join(message["body"] for message in got_bodies)


async def test_head_on_an_unknown_articles_snippet_is_not_found(client) -> None:
    assert (await client.head("/articles/nope/snippet")).status_code == 404
