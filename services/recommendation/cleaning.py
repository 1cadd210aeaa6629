"""Article text or HTML in, the words a reader reads out: site furniture is stripped.

Copying an article off a newspaper's page brings the page with it: masthead, issue
number, "Share this article", subscribe prompts, the date line, the shop's phone
number. Those words say nothing about the article and would pull the ranking towards
whatever book mentions "subscribe" or "email", so they go before any stage sees the text.
A title the page sets in italics keeps its mark, as quotation marks: the mentions stage
takes a quoted, capitalised title as named.
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
# The blocks that hold an article's words; the text between them is captions, labels, buttons.
_ARTICLE_BLOCKS = frozenset({"h2", "h3", "h4", "p", "li", "blockquote", "pre"})
# Elements a browser lays out on lines of their own. Every other element, one the parser
# does not know included, runs on in its sentence as a browser shows it: "the <a>depot</a>,"
# reads "the depot,".
_BLOCK_LEVEL = _ARTICLE_BLOCKS | frozenset(
    {
        "address", "article", "aside", "body", "caption", "center", "dd", "details", "dialog",
        "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1",
        "h5", "h6", "header", "hgroup", "hr", "html", "legend", "listing", "main", "menu",
        "nav", "ol", "optgroup", "option", "plaintext", "search", "section", "summary",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "xmp",
    }
)  # fmt: skip
# Where a browser keeps the page's line breaks; elsewhere a line break is a space.
_PREFORMATTED = frozenset({"pre", "listing", "plaintext", "xmp"})
# where a page sets a work's title ("<i>Germinal</i>"): kept in quotation marks, as plain
# text writes a title, when it begins with a capital (emphasis, "<i>today</i>", seldom does)
_TITLE_TAGS = frozenset({"i", "cite"})
_INSIDE_QUOTES = re.compile(r"(?<=\u201c) | (?=\u201d)")
_ANY_WHITESPACE = re.compile(r"\s+")
# A leading line this short and without a full stop is a heading, not body text.
_HEADING_MAX_WORDS = 16
# A first line longer than this is a paragraph, whatever its punctuation.
_HEADLINE_MAX_CHARS = 150
# A headline made from the first sentence fits the desk's list of articles on one line or two.
_MADE_HEADLINE_CHARS = 120
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

    Before it come the masthead and section labels, which are furniture too. Text pasted
    without a headline gets one made from its first sentence, and keeps all its words: its
    first line is a paragraph, and as the headline it filled the desk's list and title.
    """
    if not lines:
        return "", []
    leading: list[str] = []
    for line in lines:
        if not _is_heading(line):
            break
        leading.append(line)
    if leading and len(leading) < len(lines):
        return leading[-1], lines[len(leading) :]
    if leading or _reads_as_headline(lines[0]):
        return lines[0], lines[1:]
    return _first_sentence_headline(lines[0]), lines


def _is_heading(line: str) -> bool:
    return len(line.split()) <= _HEADING_MAX_WORDS and not _ends_sentence(line)


def _reads_as_headline(line: str) -> bool:
    """A long headline (more words than a heading) still has no full stop, and fits a line."""
    return len(line) <= _HEADLINE_MAX_CHARS and not _ends_sentence(line)


def _ends_sentence(line: str) -> bool:
    return line.rstrip().rstrip("\u201d\"')").endswith((".", "!", "?"))


def _first_sentence_headline(paragraph: str) -> str:
    """A headline for text that came without one: its first sentence, cut at a word to
    `_MADE_HEADLINE_CHARS` (the ellipsis included) when longer."""
    sentence = _SENTENCE_END.split(_squash(paragraph), maxsplit=1)[0]
    if len(sentence) <= _MADE_HEADLINE_CHARS:
        return sentence
    # the last space that leaves room for the ellipsis; a word longer than that is cut
    end = sentence.rfind(" ", 0, _MADE_HEADLINE_CHARS)
    cut = sentence[: end if end > 0 else _MADE_HEADLINE_CHARS - 1]
    return cut.rstrip(" ,;:\u2013\u2014-") + "\u2026"


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
    lines = _rendered_lines(root)
    # a fragment pasted without paragraphs is all loose lines, and those are the article
    blocks = [line.text for line in lines if line.in_article_block] or [line.text for line in lines]
    return clean_parts(headline, [b for b in blocks if b != headline])


@dataclass(frozen=True)
class _Line:
    text: str
    in_article_block: bool


def _rendered_lines(root: Node) -> list[_Line]:
    """The lines a browser shows for root: inline elements run on, blocks and <br> break.

    Walked with a stack, not by recursion: pasted HTML can nest deeper than Python's
    recursion limit. Each block's text is read once, so a <p> inside an <li> is not
    read again with it.
    """
    lines: list[_Line] = []
    run: list[str] = []
    article_depth = 0
    preformatted_depth = 0

    def end_line() -> None:
        # "<i> Germinal </i>": the marks go against the title's words
        text = _INSIDE_QUOTES.sub("", _squash("".join(run)))
        run.clear()
        if text:
            lines.append(_Line(text=text, in_article_block=article_depth > 0))

    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if node.is_text_node:
            text = node.text_content or ""
            if not preformatted_depth:
                run.append(_ANY_WHITESPACE.sub(" ", text))
                continue
            first, *rest = text.split("\n")
            run.append(first)
            for part in rest:
                end_line()
                run.append(part)
            continue
        if not node.is_element_node:
            continue
        tag = node.tag
        if tag == "br":
            end_line()
            continue
        if tag in _BLOCK_LEVEL:
            # before the depths change: the line a block closes was read inside it
            end_line()
        if tag in _TITLE_TAGS and _reads_as_title(node):
            run.append("\u201d" if leaving else "\u201c")
        step = -1 if leaving else 1
        article_depth += step if tag in _ARTICLE_BLOCKS else 0
        preformatted_depth += step if tag in _PREFORMATTED else 0
        if not leaving:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))
    end_line()
    return lines


def _reads_as_title(node: Node) -> bool:
    return node.text(deep=True).strip()[:1].isupper()


def _html_headline(tree: HTMLParser) -> str:
    for selector in ("h1", 'meta[property="og:title"]', "title"):
        node = tree.css_first(selector)
        if node is None:
            continue
        if node.tag == "meta":
            text = _squash(node.attributes.get("content") or "")
        else:
            text = " ".join(line.text for line in _rendered_lines(node))
        if text:
            return text
    return ""


def _class_and_id(node: Node) -> str:
    return f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"


def _squash(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
