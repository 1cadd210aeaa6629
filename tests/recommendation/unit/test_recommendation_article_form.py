"""The desk's article form read into a draft: an address alone in the text box is the address,
and each refusal names the field to correct."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from services.recommendation.controllers.article_form import (
    ARTICLE_ID_PATTERN,
    ArticleForm,
    FieldRefused,
)
from services.recommendation.domain import ARTICLE_ID, SourceKind
from shared.errors import Unprocessable


def test_an_address_alone_in_the_text_box_is_read_as_the_address() -> None:
    draft = ArticleForm(article_id="a1", text="https://paper.example/a?b=1").draft()

    assert (draft.source.kind, draft.source.value) == (
        SourceKind.URL,
        "https://paper.example/a?b=1",
    )


@pytest.mark.parametrize(
    "text",
    [
        "Read https://paper.example/a for more.",
        "https://paper.example/a\nThe strike goes on.",
        "ftp://paper.example/a",
    ],
)
def test_text_that_only_mentions_an_address_is_text(text: str) -> None:
    assert ArticleForm(article_id="a1", text=text).draft().source.kind is SourceKind.TEXT


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (ArticleForm(text="Words."), "article_id"),
        (ArticleForm(article_id="a b", text="Words."), "article_id"),
        (ArticleForm(article_id="a1"), "text"),
        (ArticleForm(article_id="a1", text="Words.", url="https://paper.example/a"), "text"),
        (ArticleForm(article_id="a1", url="ftp://paper.example/a"), "url"),
        (ArticleForm(article_id="a1", text="http:///article"), "text"),
        (ArticleForm(article_id="a1", text="Words.", published="31/05/2024"), "published"),
    ],
)
def test_a_refusal_names_the_field_to_correct(form: ArticleForm, field: str) -> None:
    with pytest.raises(FieldRefused) as refused:
        form.draft()

    assert refused.value.field == field


def test_a_refusal_of_the_words_read_is_about_the_field_they_came_from() -> None:
    nothing_left = Unprocessable("Nothing is left of the article.")

    assert ArticleForm(url="https://paper.example/a").field_of(nothing_left) == "url"
    assert ArticleForm(text="<nav>Subscribe</nav>").field_of(nothing_left) == "text"


def test_the_id_fields_pattern_is_the_servers_rule_for_a_browser() -> None:
    # A browser reads the pattern as JavaScript with the v flag, where \w is ASCII alone.
    assert ARTICLE_ID_PATTERN == r"(?!\.+$)[\p{L}\p{N}_.\-:]{1,120}"
    assert ARTICLE_ID.pattern == r"(?!\.+\Z)[\w.\-:]{1,120}"
    # ...which is the server's rule only if Python's \w is exactly \p{L}, \p{N} and "_".
    word = re.compile(r"\w")
    differ = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if bool(word.match(chr(code)))
        != (unicodedata.category(chr(code))[0] in "LN" or chr(code) == "_")
    ]
    assert differ == []
