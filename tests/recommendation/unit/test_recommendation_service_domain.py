"""The service's rules: acceptable articles, where a link lands, what a report adds up to."""

from __future__ import annotations

import pytest

from services.recommendation.domain import (
    OrderFigures,
    ShelfBook,
    SourceKind,
    article_report,
    article_source,
    check_article_id,
    check_html,
    check_k,
    check_text,
    check_url,
    go_path,
    landing_path,
    looks_binary,
    refund_applied,
)
from shared.errors import InvalidInput

GONE = ShelfBook("9780000000001", "The Gone Book", available=0, withdrawn=True)
SOLD_OUT = ShelfBook("9780000000002", "Sold Out", available=0, withdrawn=False)
IN_STOCK = ShelfBook("9780000000003", "In Stock", available=4, withdrawn=False)


def test_exactly_one_source_is_accepted() -> None:
    assert article_source(text="words", html=None, url=None).kind is SourceKind.TEXT
    assert article_source(text=None, html="<p>x</p>", url=None).kind is SourceKind.HTML
    with pytest.raises(InvalidInput, match="exactly one"):
        article_source(text="a", html="<p>b</p>", url=None)
    with pytest.raises(InvalidInput, match="exactly one"):
        article_source(text=None, html=None, url=None)


@pytest.mark.parametrize("k", [0, -1, 51])
def test_k_outside_one_to_fifty_is_refused(k: int) -> None:
    with pytest.raises(InvalidInput, match="between 1 and 50"):
        check_k(k)


def test_text_must_be_words_of_a_bounded_length() -> None:
    assert check_text("A strike.", max_chars=100) == "A strike."
    with pytest.raises(InvalidInput, match="empty"):
        check_text(" \n ", max_chars=100)
    with pytest.raises(InvalidInput, match="101 characters"):
        check_text("x" * 101, max_chars=100)
    with pytest.raises(InvalidInput, match="binary"):
        check_text("GIF89a\x00\x01", max_chars=100)


def test_curly_quotes_and_accents_are_not_binary_but_control_bytes_are() -> None:
    assert not looks_binary("\u201cS\u00e3o Paulo\u201d \u2014 na\u00efve caf\u00e9\n\ttabbed")
    assert looks_binary("text \x07\x08\x1b" + "y" * 100)
    assert looks_binary("\ufffd" * 5 + "y" * 100)


def test_html_needs_tags() -> None:
    assert check_html("<p>Words</p>", max_chars=100)
    with pytest.raises(InvalidInput, match="no tags"):
        check_html("Words < more words > fewer", max_chars=100)


@pytest.mark.parametrize(
    "url", ["ftp://x.org/a", "file:///etc/passwd", "javascript:alert(1)", "x.org/a", "http://"]
)
def test_only_http_addresses_with_a_host_are_fetched(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_url(url)


MALFORMED_URLS = [
    "http://[::1/a",
    "http://example.com:abc/",
    "https://xn--/a",
    "http://a..b/x",
    "http://1.1.1.1:99999/a",
    "http://example.com:0/",
    "http://example.com:-1/",
    "http://.example.com/",
    f"http://{'x' * 64}.example/",
]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_address_is_refused_as_not_a_web_address(url: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid web address"):
        check_url(url)


def test_http_and_https_addresses_pass() -> None:
    assert check_url(" https://paper.example/a?b=1 ") == "https://paper.example/a?b=1"
    assert check_url("HTTP://paper.example/a") == "HTTP://paper.example/a"


@pytest.mark.parametrize(
    "url",
    [
        "https://b\u00fccher.example/a",
        "https://xn--bcher-kva.example/a",
        "http://paper.example.:8080/a",
        "http://[2001:db8::1]:443/a",
        "http://93.184.215.14:65535/a",
    ],
)
def test_international_names_ip_addresses_and_ports_pass(url: str) -> None:
    assert check_url(url) == url


def test_article_ids_are_what_the_buy_form_accepts() -> None:
    assert check_article_id("sw-2308:v2.1_x") == "sw-2308:v2.1_x"
    assert check_article_id("...a") == "...a"
    # dots alone: a browser turns /staff/editor/articles/.. into /staff/editor/
    for bad in ("", "a/b", "a b", "x" * 121, "a?b", ".", "..", "..."):
        with pytest.raises(InvalidInput):
            check_article_id(bad)


def test_a_link_path_quotes_the_article_id() -> None:
    assert go_path("sw:2308", "9780000000003") == "/go/sw%3A2308/9780000000003"


def test_a_book_on_sale_is_where_its_link_lands_even_when_out_of_stock() -> None:
    assert (
        landing_path(article_id="a1", isbn13=SOLD_OUT.isbn13, book=SOLD_OUT, alternatives=[])
        == "/books/9780000000002?article=a1"
    )


def test_a_gone_book_lands_on_the_best_alternative_in_stock_else_on_sale() -> None:
    assert (
        landing_path(
            article_id="a1", isbn13=GONE.isbn13, book=GONE, alternatives=[GONE, SOLD_OUT, IN_STOCK]
        )
        == "/books/9780000000003?article=a1&gone=9780000000001"
    )
    assert (
        landing_path(article_id="a1", isbn13=GONE.isbn13, book=GONE, alternatives=[SOLD_OUT])
        == "/books/9780000000002?article=a1&gone=9780000000001"
    )


def test_with_no_alternative_a_search_for_the_title_or_the_isbn() -> None:
    assert (
        landing_path(article_id="a1", isbn13=GONE.isbn13, book=GONE, alternatives=[GONE])
        == "/search?q=The+Gone+Book&gone=9780000000001"
    )
    assert (
        landing_path(article_id="a1", isbn13="9780000000009", book=None, alternatives=[])
        == "/search?q=9780000000009&gone=9780000000009"
    )


def test_without_a_known_article_a_gone_book_is_searched_for() -> None:
    assert (
        landing_path(article_id=None, isbn13=GONE.isbn13, book=GONE, alternatives=[IN_STOCK])
        == "/search?q=The+Gone+Book&gone=9780000000001"
    )


def test_a_report_adds_clicks_copies_and_revenue_net_of_refunds() -> None:
    report = article_report(
        article_id="a1",
        headline="Headline",
        clicks={"9780000000001": 3, "9780000000002": 1},
        orders=[
            OrderFigures(total_pence=2500, refunds_pence=0, lines=(("9780000000001", 2),)),
            OrderFigures(
                total_pence=1000,
                refunds_pence=400,
                lines=(("9780000000003", 1), ("9780000000001", 1)),
            ),
            # refunded twice over (a partial refund, then the whole order): what it paid, once
            OrderFigures(total_pence=700, refunds_pence=1000, lines=(("9780000000002", 1),)),
        ],
        titles={"9780000000001": "One"},
    )

    assert (report.clicks, report.orders) == (4, 3)
    assert (report.gross_pence, report.refunded_pence, report.revenue_pence) == (4200, 1100, 3100)
    assert [(b.isbn13, b.title, b.clicks, b.copies_sold) for b in report.books] == [
        ("9780000000001", "One", 3, 3),
        ("9780000000002", None, 1, 1),
        ("9780000000003", None, 0, 1),
    ]


def test_refunded_copies_come_off_each_orders_copies_sold_to_none_at_least() -> None:
    report = article_report(
        article_id="a1",
        headline="Headline",
        clicks={},
        orders=[
            OrderFigures(
                total_pence=2500,
                refunds_pence=1000,
                lines=(("9780000000001", 2), ("9780000000002", 1)),
                refunded_copies={"9780000000001": 1},
            ),
            # more copies refunded than this order sold takes nothing off another order's
            OrderFigures(
                total_pence=1000,
                refunds_pence=1000,
                lines=(("9780000000002", 1),),
                refunded_copies={"9780000000002": 5},
            ),
        ],
        titles={},
    )

    assert {b.isbn13: b.copies_sold for b in report.books} == {
        "9780000000001": 1,
        "9780000000002": 1,
    }


def test_refunds_come_off_to_no_more_than_was_paid() -> None:
    assert refund_applied(1000, 0) == 0
    assert refund_applied(1000, 600) == 600
    assert refund_applied(1000, 1000) == 1000
    assert refund_applied(1000, 1300) == 1000
