"""Articles made by hypothesis: random HTML, mangled pages, odd text. The cleaner never raises,
and POST /recommendations answers every one with books or a clear 4xx, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.recommendation.cleaning import clean_article

SEED_TEXT = (Path(__file__).parents[1] / "data" / "seed-article.txt").read_text(encoding="utf-8")
TAGS = [
    "p",
    "div",
    "article",
    "h1",
    "h2",
    "nav",
    "footer",
    "script",
    "style",
    "a",
    "span",
    "table",
    "td",
    "br",
    "img",
    "iframe",
    "svg",
    "template",
    "noscript",
    "title",
    "head",
    "body",
    "html",
    "!--",
    "![CDATA[",
    "?xml",
]
ATTRIBUTES = st.sampled_from(
    [
        "",
        ' class="share-buttons"',
        ' id="subscribe"',
        ' onclick="alert(1)"',
        ' style="display:none"',
        " href='javascript:alert(1)'",
        ' class="article-body"',
        ' data-x="&quot;&amp;&lt;"',
        " unclosed='",
    ]
)
TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(SEED_TEXT.split("\n")),
    st.sampled_from(["&nbsp;", "&#0;", "&#x110000;", "&bogus;", "\u200b", "\ufeff", "\x00"]),
)


@st.composite
def html_fragments(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        if depth < 4 and draw(st.booleans()):
            tag = draw(st.sampled_from(TAGS))
            inner = draw(html_fragments(depth + 1))
            close = draw(st.sampled_from([f"</{tag}>", "", "</p>", "</div></div>"]))
            parts.append(f"<{tag}{draw(ATTRIBUTES)}>{inner}{close}")
        else:
            parts.append(draw(TEXT))
    return "".join(parts)


def mangle(text: str, data: st.DataObject) -> str:
    """The seed article as HTML, cut and spliced at random."""
    for _ in range(data.draw(st.integers(0, 4))):
        if not text:
            break
        at = data.draw(st.integers(0, len(text) - 1))
        text = (
            text[:at]
            + data.draw(st.sampled_from(["<", ">", "</p>", "<p", "&", "\x00", ""]))
            + (text[at + data.draw(st.integers(0, 50)) :])
        )
    return text


SEED_HTML = (
    "<html><body><article><h1>Seed</h1>"
    + "".join(f"<p>{line}</p>" for line in SEED_TEXT.split("\n") if line.strip())
    + "<div class='share'>Share this article</div></article></body></html>"
)


@settings(max_examples=250, deadline=None, database=None, derandomize=True)
@given(raw=st.one_of(html_fragments(), st.text(max_size=3000)), data=st.data())
def test_the_cleaner_never_raises(raw: str, data: st.DataObject) -> None:
    cleaned = clean_article(mangle(raw, data) if data.draw(st.booleans()) else raw)
    assert isinstance(cleaned.headline, str) and isinstance(cleaned.text, str)


def test_a_page_whose_own_classes_sound_like_furniture_keeps_its_article(shop: Any) -> None:
    """`<html class="...share...">` once made the cleaner fail (a 500), and a body or article
    classed "comments-open" or "has-sidebar" lost the whole article."""
    paragraphs = "".join(f"<p>{line}</p>" for line in SEED_TEXT.split("\n") if line.strip())
    page = (
        '<html class="js share-enabled"><body class="single comments-open">'
        f'<article class="post has-sidebar"><h1>Seed</h1>{paragraphs}'
        '<div class="share">Share this article</div></article></body></html>'
    )
    cleaned = clean_article(page)
    assert "Share this article" not in cleaned.text
    assert len(cleaned.paragraphs) > 3

    response = shop.recommendation.post("/recommendations", json={"html": page})
    assert response.status_code == 200, response.text
    assert response.json()["books"]


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(data=st.data())
def test_the_cleaner_keeps_the_mangled_seed_article_readable(data: st.DataObject) -> None:
    cleaned = clean_article(mangle(SEED_HTML, data))
    assert "Share this article" not in cleaned.text


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(["text", "html"]),
    raw=st.one_of(html_fragments(), st.text(max_size=3000)),
    data=st.data(),
)
def test_the_recommendations_endpoint_never_fails_on_an_article(
    shop: Any, field: str, raw: str, data: st.DataObject
) -> None:
    body = {field: mangle(raw, data) if data.draw(st.booleans()) else raw}
    response = shop.recommendation.post("/recommendations", json=body)
    event(f"{field}: {response.status_code}")
    assert response.status_code in (200, 400, 422), response.text
    if response.status_code == 200:
        assert isinstance(response.json()["books"], list)
    else:
        assert response.json()["detail"].strip()


def test_the_recommendations_endpoint_refuses_bodies_that_are_not_articles(shop: Any) -> None:
    for body in (
        b"",
        b"null",
        b"[]",
        b'{"text": 1}',
        b'{"text": "a", "html": "b"}',
        b'{"k": 99999999999999999999999, "text": "strike"}',
        b'{"text": "\\ud800"}',
        b"\xff\xfe{",
        b'{"text": "' + b"a" * 300_000 + b'"}',
    ):
        response = shop.recommendation.post(
            "/recommendations", content=body, headers={"Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (body[:40], response.status_code, response.text)
