"""Fetching an article's page, against httpx's in-memory transport (no network), and a few
pages only a real server shows right (a charset in the page, a redirect to a bad port)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from litestar import Litestar, Response, get
from loopback_server import ServerThread, bound_socket

from services.recommendation.domain import looks_binary
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


async def test_an_address_httpx_cannot_encode_is_refused_as_not_a_web_address() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be fetched")

    # IDNA 2003 (check_url's, and the resolver's) encodes a snowman; httpx's IDNA 2008 does not.
    with pytest.raises(InvalidInput, match="not a valid web address"):
        await fetcher(handler).fetch("http://\u2603.example/a")


async def test_a_redirect_to_a_malformed_address_is_refused_as_not_a_web_address() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://xn--/a"})

    with pytest.raises(InvalidInput, match="redirects to, is not a valid web address"):
        await fetcher(handler).fetch("http://paper.example/x")


QUOTED = "<p>\u201cCaf\u00e9 na\u00efvet\u00e9\u201d \u2014 S\u00e3o Paulo\u2019s workers</p>"


def serving(head: str, *, charset: str, content_type: str = "text/html") -> HttpFetcher:
    """A fetcher whose every page is QUOTED, under `head`, encoded in `charset`."""
    html = f"<html><head>{head}</head><body>{QUOTED}</body></html>"
    return fetcher(
        lambda r: httpx.Response(
            200, content=html.encode(charset), headers={"Content-Type": content_type}
        )
    )


@pytest.mark.parametrize(
    ("content_type", "head"),
    [
        ("text/html", '<meta charset="windows-1252">'),
        ("text/html", "<meta charset=windows-1252>"),
        (
            "text/html",
            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">',
        ),
        ("text/html; charset=windows-1252", '<meta charset="utf-8">'),
        ("text/html; charset=no-such-charset", '<META CHARSET="Windows-1252">'),
    ],
    ids=["meta", "meta-unquoted", "http-equiv", "header-over-meta", "unknown-header-name"],
)
async def test_a_page_is_read_in_the_charset_its_header_or_else_its_meta_tag_names(
    content_type: str, head: str
) -> None:
    fetching = serving(head, charset="cp1252", content_type=content_type)
    page = await fetching.fetch("http://paper.example/a")

    assert QUOTED in page.content


@pytest.mark.parametrize("head", ['<meta charset="no-such-charset">', ""], ids=["unknown", "none"])
async def test_a_page_without_a_known_charset_is_read_as_utf8(head: str) -> None:
    page = await serving(head, charset="utf-8").fetch("http://paper.example/a")

    assert QUOTED in page.content


# A page written in windows-1252, as most pages labelled Latin-1 or ASCII are: one curly
# quote or dash in every ten characters, as in a short quote-heavy paragraph.
QUOTE_HEAVY = "<p>\u201cNo\u201d \u2014 \u20ac5.</p>" * 20


def serving_bytes(body: bytes, content_type: str) -> HttpFetcher:
    return fetcher(
        lambda r: httpx.Response(200, content=body, headers={"Content-Type": content_type})
    )


@pytest.mark.parametrize(
    ("content_type", "head"),
    [
        ("text/html; charset=iso-8859-1", ""),
        ("text/html; charset=ISO-8859-1", '<meta charset="utf-8">'),
        ("text/html; charset=latin1", ""),
        ("text/html; charset=us-ascii", ""),
        ("text/html; charset=ascii", ""),
        ("text/html; charset=x-cp1252", ""),
        ("text/html", '<meta charset="iso-8859-1">'),
        ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=us-ascii">'),
        ("text/plain; charset=iso-8859-1", ""),
    ],
)
async def test_a_page_labelled_latin1_or_ascii_is_read_as_windows_1252_as_browsers_do(
    content_type: str, head: str
) -> None:
    html = f"<html><head>{head}</head><body>{QUOTE_HEAVY}</body></html>"

    page = await serving_bytes(html.encode("cp1252"), content_type).fetch("http://paper.example/a")

    assert QUOTE_HEAVY in page.content
    assert not looks_binary(page.content)


async def test_a_byte_the_charset_has_no_character_for_reads_as_a_replacement_character() -> None:
    # 0x81 is undefined in windows-1252, and so in a page labelled Latin-1 too.
    body = b"<p>Caf\xe9 \x93workers\x94 \x81 walk out</p>"

    for charset in ("windows-1252", "iso-8859-1"):
        page = await serving_bytes(body, f"text/html; charset={charset}").fetch(
            "http://paper.example/a"
        )

        assert page.content == "<p>Caf\u00e9 \u201cworkers\u201d \ufffd walk out</p>"


@pytest.mark.parametrize("charset", ["base64", "rot13", "hex", "idna", "punycode", "undefined"])
async def test_a_charset_python_knows_but_cannot_read_a_page_in_is_passed_over(
    charset: str,
) -> None:
    # Codecs that are no text encoding, or cannot replace a byte they cannot read: no browser
    # knows them, so the page is read as if the header named no charset.
    html = f'<html><head><meta charset="windows-1252"></head><body>{QUOTED}</body></html>'
    body = html.encode("cp1252") + b"\x81"

    page = await serving_bytes(body, f"text/html; charset={charset}").fetch(
        "http://paper.example/a"
    )

    assert QUOTED in page.content
    assert page.content.endswith("\ufffd")


WINDOWS_1252_PAGE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    f"<title>Caf\u00e9</title></head><body>{QUOTED}</body></html>"
).encode("cp1252")


@get("/windows-1252")
async def windows_1252_page() -> Response[bytes]:
    # Served as many old pages are: the charset named only in the page itself.
    return Response(WINDOWS_1252_PAGE, headers={"Content-Type": "text/html"})


@get("/to-a-port-out-of-range")
async def to_a_port_out_of_range() -> Response[bytes]:
    return Response(b"", status_code=302, headers={"Location": "http://127.0.0.1:99999/"})


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    app = Litestar([windows_1252_page, to_a_port_out_of_range])
    with ServerThread(app, bound_socket()) as server:
        yield server.url


def loopback_fetcher() -> HttpFetcher:
    return HttpFetcher(timeout_seconds=2, max_bytes=4096, allow_private_addresses=True)


async def test_a_windows_1252_page_from_a_server_reads_right(pages: str) -> None:
    page = await loopback_fetcher().fetch(f"{pages}/windows-1252")

    assert QUOTED in page.content
    assert "\ufffd" not in page.content


async def test_a_redirect_to_a_port_out_of_range_is_refused_as_not_a_web_address(
    pages: str,
) -> None:
    with pytest.raises(InvalidInput, match="not a valid web address"):
        await loopback_fetcher().fetch(f"{pages}/to-a-port-out-of-range")
