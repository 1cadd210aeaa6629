"""Commands the recommendation service handles."""

from __future__ import annotations

import re
from datetime import date
from typing import ClassVar

from shared.messaging.message import Command

# An article's id travels in its links (/go/{article}/{isbn}), on to the catalogue's Buy form
# and back on checkout's orders, so every service reads it by this one rule: letters, digits,
# "_", ".", "-" and ":". Not dots alone: a browser reads /articles/.. as the folder above, so
# no link could reach it.
ARTICLE_ID_LENGTH = 120
ARTICLE_ID_CHARACTERS = r"[\w.\-:]"
ARTICLE_ID = re.compile(rf"(?!\.+\Z){ARTICLE_ID_CHARACTERS}{{1,{ARTICLE_ID_LENGTH}}}")


class ArticlePublished(Command, frozen=True, kw_only=True):
    """Index an article (from the CMS or the command line) and compute its books."""

    task: ClassVar[str] = "recommendation.article_published.v1"
    article_id: str
    headline: str
    published: date | None = None
    text: str | None = None
    html: str | None = None
    url: str | None = None
