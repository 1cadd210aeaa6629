"""Article text or HTML in, the words a reader reads out: site furniture is stripped.

Copying an article off a newspaper's page brings the page with it: masthead, issue
number, "Share this article", subscribe prompts, the date line, the shop's phone
number. Those words say nothing about the article and would pull the ranking towards
whatever book mentions "subscribe" or "email", so they go before any stage sees the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

_WHITESPACE = re.compile(r"[ \t\u00a0\u2009\u202f]+")
_SENTENCE_END = re.compile(r"(?<=[.!?\u201d\"'])\s+(?=[A-Z\u201c\"'])")
_PHONE = re.compile(r"(?:\+\d{1,3}[\s.-]?)?(?:\(?0\d{2,4}\)?[\s.-]?)\d{3,4}[\s.-]?\d{3,4}\b")
_URL_OR_EMAIL = re.compile(r"https?://\S+|www\.\S+|\b[\w.+-]+@[\w-]+\.[\w.]+\b")

# Whole lines that are page furniture wherever a newspaper puts them.
_FURNITURE_LINE = re.compile(
    r"""^(?:
        article\s+information | share\s+(?:this|on)\b.* | (?:tweet|email|print|copy\s+link)$
        | related(?:\s+(?:articles|stories|topics))?$ | topics$ | tags?:?.* | advertisement$
        | read\s+more\b.* | comments?$ | \d+\s+comments?$ | issue\s+(?:no\.?|number)\s*\d+.*
        | (?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s+\d{1,2}\s+[a-z]{3,9}\.?\s+\d{4}.*
        | \d{1,2}\s+[a-z]{3,9}\s+\d{4}(?:,?\s+\d{1,2}[:.]\d{2}.*)?
        | (?:posted|published|updated)\s+(?:on\s+)?\d.* | by\s+[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){0,3}$
        | photo:.* | picture:.* | image:.* | \(?pic(?:ture)?:.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Sentences that sell the paper or the app rather than say anything.
_FURNITURE_SENTENCE = re.compile(
    r"""\b(?:
        click\s+here | subscribe | newsletter | sign\s+up\s+(?:to|for) | home\s+screen
        | download\s+(?:our|the)\s+app | follow\s+us | like\s+us\s+on | cookies?\s+polic
        | all\s+rights\s+reserved | \u00a9
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_HTML_HINT = re.compile(r"<\s*(?:html|body|article|p|div|h1|br)\b", re.IGNORECASE)
_DROPPED_TAGS = (
    "script, style, noscript, nav, header, footer, aside, form, button, figure, svg, iframe, "
    "template, select"
)
_FURNITURE_CLASS = re.compile(
    r"share|social|subscri|newsletter|promo|related|comment|advert|cookie|breadcrumb|"
    r"sidebar|byline|tags|menu|masthead|signup|paywall",
    re.IGNORECASE,
)
# The page and the article hold the text whatever their classes say ("comments-open",
# "has-sidebar"); decomposing the root would fail, and the others would take the article.
_CONTAINER_TAGS = frozenset({"html", "head", "body", "main", "article"})
_BLOCK_TAGS = "h2, h3, h4, p, li, blockquote, pre"
# A leading line this short and without a full stop is a heading, not body text.
_HEADING_MAX_WORDS = 16
_FRAGMENT_WORDS = 5


@dataclass(frozen=True)
class CleanArticle:
    headline: str
    text: str

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(p for p in self.text.split("\n") if p.strip())

    @property
    def full_text(self) -> str:
        return f"{self.headline}\n{self.text}" if self.headline else self.text


def clean_article(raw: str) -> CleanArticle:
    """Clean article text or HTML, told apart by its tags, for callers that cannot say which.

    A guess: text that quotes a tag (an article on web pages, "r < p") reads as HTML and
    loses words, so a caller that knows the kind uses clean_text or clean_html.
    """
    if _HTML_HINT.search(raw):
        return clean_html(raw)
    return clean_text(raw)


def clean_parts(headline: str, paragraphs: list[str] | tuple[str, ...]) -> CleanArticle:
    """Clean an article that arrives already split into headline and paragraphs."""
    kept = [p for p in (_clean_paragraph(p) for p in paragraphs) if p]
    return CleanArticle(headline=_squash(headline), text="\n".join(kept))


def clean_text(raw: str) -> CleanArticle:
    """Clean plain text: what looks like a tag is words the article quotes, and stays."""
    lines = [_squash(line) for line in raw.splitlines()]
    lines = [line for line in lines if line and not _FURNITURE_LINE.match(line)]
    headline, body = _split_heading(lines)
    return clean_parts(headline, body)


def _split_heading(lines: list[str]) -> tuple[str, list[str]]:
    """The last heading-like line before the body is the headline.

    Before it come the masthead and section labels, which are furniture too.
    """
    leading: list[str] = []
    for line in lines:
        if not _is_heading(line):
            break
        leading.append(line)
    if not leading or len(leading) == len(lines):
        return (lines[0], lines[1:]) if lines else ("", [])
    return leading[-1], lines[len(leading) :]


def _is_heading(line: str) -> bool:
    return len(line.split()) <= _HEADING_MAX_WORDS and not line.rstrip().endswith((".", "!", "?"))


def _clean_paragraph(paragraph: str) -> str:
    text = _squash(paragraph)
    if not text or _FURNITURE_LINE.match(text):
        return ""
    sentences = _SENTENCE_END.split(text)
    kept = [s for s in sentences if not _is_furniture_sentence(s)]
    if len(kept) < len(sentences) and sum(len(s.split()) for s in kept) < _FRAGMENT_WORDS:
        # what is left of a promotional paragraph ("Mobile users!") is part of it
        return ""
    return " ".join(kept).strip()


def _is_furniture_sentence(sentence: str) -> bool:
    return bool(
        _FURNITURE_SENTENCE.search(sentence)
        or _PHONE.search(sentence)
        or _URL_OR_EMAIL.search(sentence)
    )


def clean_html(raw: str) -> CleanArticle:
    """Clean an HTML page or fragment: the article's blocks, without the page around them."""
    tree = HTMLParser(raw)
    headline = _html_headline(tree)
    for node in tree.css(_DROPPED_TAGS):
        node.decompose()
    for node in tree.css("[class], [id]"):
        if node.tag not in _CONTAINER_TAGS and _FURNITURE_CLASS.search(_class_and_id(node)):
            node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.body or tree.root
    if root is None:
        return CleanArticle(headline=headline, text="")
    blocks = [_squash(node.text(separator=" ")) for node in root.css(_BLOCK_TAGS)]
    if not blocks:
        blocks = [_squash(line) for line in root.text(separator="\n").splitlines()]
    paragraphs = [b for b in blocks if b and b != headline]
    return clean_parts(headline, paragraphs)


def _html_headline(tree: HTMLParser) -> str:
    for selector in ("h1", 'meta[property="og:title"]', "title"):
        node = tree.css_first(selector)
        if node is None:
            continue
        text = node.attributes.get("content") if node.tag == "meta" else node.text()
        if text and text.strip():
            return _squash(text)
    return ""


def _class_and_id(node: Node) -> str:
    return f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"


def _squash(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
