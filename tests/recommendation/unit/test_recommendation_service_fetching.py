"""Fetching an article's page, against httpx's in-memory transport (no network)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.recommendation.fetching import HttpFetcher
from shared.errors import InvalidInput, Unprocessable

PAGE = "<html><body><article><h1>Strike</h1><p>Pickets at the gate.</p></article></body></html>"


def fetcher(handler, *, timeout: float = 1.0, max_bytes: int = 4096) -> HttpFetcher:
    return HttpFetcher(
        timeout_seconds=timeout, max_bytes=max_bytes, transport=httpx.MockTransport(handler)
    )


async def test_an_html_page_is_read_with_its_charset_and_final_address() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "https://paper.example/new"})
        return httpx.Response(
            200,
            content="<p>Caf\u00e9 workers</p>".encode("latin-1"),
            headers={"Content-Type": "text/html; charset=iso-8859-1"},
        )

    page = await fetcher(handler).fetch("https://paper.example/old")

    assert page.url == "https://paper.example/new"
    assert page.content == "<p>Caf\u00e9 workers</p>"
    assert page.is_html


async def test_plain_text_is_read_as_text() -> None:
    page = await fetcher(
        lambda r: httpx.Response(200, text="Strike!", headers={"Content-Type": "text/plain"})
    ).fetch("http://paper.example/a.txt")
    assert (page.content, page.is_html) == ("Strike!", False)


async def test_a_page_over_the_cap_is_refused_whether_declared_or_not() -> None:
    big = b"<p>" + b"x" * 5000 + b"</p>"

    async def undeclared():
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    declared = fetcher(
        lambda r: httpx.Response(200, content=big, headers={"Content-Type": "text/html"})
    )
    streamed = fetcher(
        lambda r: httpx.Response(200, content=undeclared(), headers={"Content-Type": "text/html"})
    )

    for each in (declared, streamed):
        with pytest.raises(Unprocessable, match="larger than 4 KB"):
            await each.fetch("http://paper.example/big")


async def test_a_slow_page_is_given_up_on_at_the_deadline() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, text=PAGE, headers={"Content-Type": "text/html"})

    with pytest.raises(Unprocessable, match=r"within 0\.2 seconds"):
        await fetcher(slow, timeout=0.2).fetch("http://paper.example/slow")


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(404, text="gone", headers={"Content-Type": "text/html"}), "answered 404"),
        (httpx.Response(200, content=b"%PDF", headers={"Content-Type": "application/pdf"}), "pdf"),
        (httpx.Response(200, content=b"..."), "an unnamed type"),
    ],
)
async def test_what_is_not_an_article_page_is_refused(
    response: httpx.Response, message: str
) -> None:
    with pytest.raises(Unprocessable, match=message):
        await fetcher(lambda r: response).fetch("http://paper.example/x")


async def test_a_redirect_to_another_scheme_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "file:///etc/passwd"})

    with pytest.raises(Unprocessable, match="Could not fetch"):
        await fetcher(handler).fetch("http://paper.example/x")


async def test_only_http_addresses_are_tried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be fetched")

    with pytest.raises(InvalidInput, match="http and https"):
        await fetcher(handler).fetch("ftp://paper.example/x")
