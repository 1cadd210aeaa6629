"""The desk's article form: what the editor typed, read into an article draft, and which field
a refusal is about, so the form can mark that field and put the cursor back in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.recommendation.domain import (
    ARTICLE_ID,
    ArticleSource,
    SourceKind,
    check_article_id,
    check_url,
)
from services.recommendation.service import ArticleDraft
from shared.errors import InvalidInput, ShopError

# The server's rule for an article id as the id field's `pattern`, which a browser reads as
# JavaScript (the v flag): there \w is ASCII alone, where Python's is exactly the letters and
# digits of every script (\p{L}, \p{N}) and "_", so an id with "é" would be refused unsent.
ARTICLE_ID_PATTERN = ARTICLE_ID.pattern.replace(r"\w", r"\p{L}\p{N}_").replace(r"\Z", "$")
_TAG = re.compile(r"<[a-zA-Z][^<>]*>")
# An address pasted into the text box (where the cursor starts) rather than the address box.
_ADDRESS = re.compile(r"https?://\S+", re.IGNORECASE)


class FieldRefused(InvalidInput):
    """A refusal of one field of the form."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ArticleForm:
    """What the editor typed, kept to show the form again when it is refused.

    `replace` is the id of the stored article the editor agreed to replace.
    """

    article_id: str = ""
    headline: str = ""
    published: str = ""
    text: str = ""
    url: str = ""
    replace: str = ""

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ArticleForm:
        return cls(**{name: str(data.get(name) or "").strip() for name in cls.__dataclass_fields__})

    @property
    def address(self) -> str:
        return self.url or (self.text if _ADDRESS.fullmatch(self.text) else "")

    @property
    def source_field(self) -> str:
        """The field the article's words came from: the one to correct when they are refused."""
        return "url" if self.url else "text"

    def field_of(self, refused: ShopError) -> str:
        return refused.field if isinstance(refused, FieldRefused) else self.source_field

    def draft(self) -> ArticleDraft:
        """The article to store; FieldRefused names the field at fault."""
        if not self.article_id:
            raise FieldRefused(
                "Give the article an id: the newspaper's id or slug for it.", field="article_id"
            )
        try:
            check_article_id(self.article_id)
        except InvalidInput as refused:
            raise FieldRefused(refused.message, field="article_id") from None
        return ArticleDraft(
            source=self._source(), headline=self.headline or None, published=self._published()
        )

    def _source(self) -> ArticleSource:
        if self.text and self.url:
            raise FieldRefused(
                "Paste the article's text or give its address, not both.", field="text"
            )
        if self.address:
            try:
                return ArticleSource(SourceKind.URL, check_url(self.address))
            except InvalidInput as refused:
                raise FieldRefused(refused.message, field=self.source_field) from None
        if not self.text:
            raise FieldRefused("Paste the article's text or give its address.", field="text")
        kind = SourceKind.HTML if _TAG.search(self.text) else SourceKind.TEXT
        return ArticleSource(kind, self.text)

    def _published(self) -> date | None:
        if not self.published:
            return None
        try:
            return date.fromisoformat(self.published)
        except ValueError:
            raise FieldRefused(
                f"{self.published!r} is not a date: use the form 2024-05-31.", field="published"
            ) from None
