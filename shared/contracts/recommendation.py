"""Commands the recommendation service handles."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from shared.messaging.message import Command


class ArticlePublished(Command, frozen=True, kw_only=True):
    """Index an article (from the CMS or the command line) and compute its books."""

    task: ClassVar[str] = "recommendation.article_published.v1"
    article_id: str
    headline: str
    published: date | None = None
    text: str | None = None
    html: str | None = None
    url: str | None = None
