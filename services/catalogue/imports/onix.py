"""ONIX 3.0 product records, with reference or short tag names, read as a stream.

The parser never fetches anything and never expands the entities a file declares (no XXE,
no "billion laughs"); only XHTML's named characters (&eacute;) are read as characters, whether
the file names the ONIX DTD or not (xml_entities). It frees each Product once read, so a large
file does not fill memory.

A Product gives only the fields it carries (see `_fields`): a book already held keeps the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree, html

from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.prices import BadPrice, pounds_to_pence
from services.catalogue.imports.records import (
    Location,
    ParsedRecord,
    RecordError,
    RecordInvalid,
    parsed,
)
from services.catalogue.imports.xml_entities import naming_a_dtd, spell_out, undeclared_entity

REFERENCE_NAMESPACE = "http://ns.editeur.org/onix/3.0/reference"
SHORT_NAMESPACE = "http://ns.editeur.org/onix/3.0/short"

# The short tags of the reference names this parser reads (ONIX 3.0 specification).
SHORT_TAGS = {
    "Header": "header",
    "DefaultCurrencyCode": "m186",
    "Product": "product",
    "RecordReference": "a001",
    "NotificationType": "a002",
    "ProductIdentifier": "productidentifier",
    "ProductIDType": "b221",
    "IDValue": "b244",
    "DescriptiveDetail": "descriptivedetail",
    "ProductForm": "b012",
    "TitleDetail": "titledetail",
    "TitleType": "b202",
    "TitleElement": "titleelement",
    "TitleElementLevel": "x409",
    "TitleText": "b203",
    "TitlePrefix": "b030",
    "TitleWithoutPrefix": "b031",
    "Subtitle": "b029",
    "Contributor": "contributor",
    "SequenceNumber": "b034",
    "ContributorRole": "b035",
    "PersonName": "b036",
    "PersonNameInverted": "b037",
    "NamesBeforeKey": "b039",
    "KeyNames": "b040",
    "CorporateName": "b047",
    "Subject": "subject",
    "SubjectSchemeIdentifier": "b067",
    "SubjectHeadingText": "b070",
    "CollateralDetail": "collateraldetail",
    "TextContent": "textcontent",
    "TextType": "x426",
    "Text": "d104",
    "SupportingResource": "supportingresource",
    "ResourceContentType": "x436",
    "ResourceVersion": "resourceversion",
    "ResourceLink": "x435",
    "PublishingDetail": "publishingdetail",
    "Imprint": "imprint",
    "ImprintName": "b079",
    "Publisher": "publisher",
    "PublishingRole": "b291",
    "PublisherName": "b081",
    "PublishingDate": "publishingdate",
    "PublishingDateRole": "x448",
    "Date": "b306",
    "ProductSupply": "productsupply",
    "SupplyDetail": "supplydetail",
    "Price": "price",
    "PriceType": "x462",
    "PriceAmount": "j151",
    "CurrencyCode": "j152",
}

# ONIX code list 150 (ProductForm): the printed books the shop sells.
PRODUCT_FORMS = {"BB": "hardback", "BC": "paperback"}

ISBN13_ID_TYPE = "15"
GTIN13_ID_TYPE = "03"
AUTHOR_ROLE = "A01"
DELETE_NOTIFICATION = "05"
MAIN_DESCRIPTION, SHORT_DESCRIPTION = "03", "02"
FRONT_COVER = "01"
PUBLICATION_DATE = "01"
MAIN_PUBLISHER = "01"
PRODUCT_TITLE_TYPE, PRODUCT_LEVEL = "01", "01"
# ONIX code list 27: keywords, several in one SubjectHeadingText separated by ";".
KEYWORDS_SCHEME = "20"
# RRP including tax first (books are zero-rated, so it equals the price excluding tax).
PRICE_TYPE_PREFERENCE = ("02", "01")

_BLOCK_TAGS = ("p", "br", "li", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr")


class _Tags:
    """Qualified tag names in the file's dialect: reference or short, with its namespace."""

    def __init__(self, namespace: str, *, short: bool) -> None:
        self._prefix = f"{{{namespace}}}" if namespace else ""
        self._short = short
        self._paths: dict[str, str] = {}

    def tag(self, name: str) -> str:
        return self._prefix + (SHORT_TAGS[name] if self._short else name)

    def path(self, path: str) -> str:
        if path not in self._paths:
            self._paths[path] = "/".join(self.tag(name) for name in path.split("/"))
        return self._paths[path]

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        return element.find(self.path(path))

    def findall(self, element: etree._Element, path: str) -> list[etree._Element]:
        return element.findall(self.path(path))

    def text(self, element: etree._Element, path: str) -> str | None:
        """The stripped text at `path`, None when absent or blank."""
        found = element.find(self.path(path))
        if found is None or found.text is None:
            return None
        return found.text.strip() or None


def parse_onix(stream: BinaryIO) -> Iterator[ParsedRecord]:
    """Every Product's record or error; refuses malformed XML and XML that is not ONIX 3.0."""
    events = etree.iterparse(
        naming_a_dtd(stream),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    root: etree._Element | None = None
    tags: _Tags | None = None
    product_tag = header_tag = ""
    # A Price may leave out its CurrencyCode when the Header gives a DefaultCurrencyCode.
    default_currency: str | None = None
    index = 0
    try:
        for event, element in events:
            if root is None:
                root, tags = element, _dialect(element)
                product_tag, header_tag = tags.tag("Product"), tags.tag("Header")
            elif tags and event == "end" and element.tag == header_tag:
                if element.getparent() is root:
                    default_currency = tags.text(element, "DefaultCurrencyCode")
            elif tags and event == "end" and element.tag == product_tag:
                if element.getparent() is not root:
                    continue
                index += 1
                spell_out(element)
                yield _record(element, index, tags, default_currency=default_currency)
                # Free what has been read: the Product and the siblings before it.
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del root[0]
    except etree.XMLSyntaxError as error:
        raise ImportRefused(
            undeclared_entity(events.error_log) or f"this is not well-formed XML: {error}"
        ) from error


def _dialect(root: etree._Element) -> _Tags:
    qname = etree.QName(root)
    namespace, name = qname.namespace or "", qname.localname
    if name not in ("ONIXMessage", "ONIXmessage"):
        raise ImportRefused(
            f"this XML is not ONIX: its root element is <{name}>, expected <ONIXMessage>"
        )
    release = root.get("release")
    if release is None or not release.startswith("3."):
        said = f"release {release}" if release else "no release attribute (ONIX 2.1?)"
        raise ImportRefused(
            f"this ONIX message has {said}: only ONIX 3.0 can be imported; "
            "ask the supplier for an ONIX 3.0 file"
        )
    short = name == "ONIXmessage"
    expected = SHORT_NAMESPACE if short else REFERENCE_NAMESPACE
    if namespace not in ("", expected):
        raise ImportRefused(
            f"this ONIX message's namespace is {namespace!r}, expected {expected!r}"
        )
    return _Tags(namespace, short=short)


def _record(
    product: etree._Element, index: int, tags: _Tags, *, default_currency: str | None
) -> ParsedRecord:
    location = Location(record=index, reference=tags.text(product, "RecordReference"))
    try:
        fields = _fields(product, tags, default_currency=default_currency)
    except RecordInvalid as error:
        return RecordError(location=location, reason=str(error))
    return parsed(location, fields)


def _fields(
    product: etree._Element, tags: _Tags, *, default_currency: str | None
) -> dict[str, object]:
    """The facts the Product carries, under the JSON lines keys; the common rules check them
    afterwards.

    A field the Product does not carry is left out, so a book already held keeps it (as with a
    column a CSV file leaves out). ONIX 3.0 says so only of a block update (NotificationType
    04); it is applied to every Product because a supplier's feed that leaves out a block (no
    CollateralDetail, no Contributors) is far likelier than one meaning to erase the book's
    description or authors. A Product cannot clear a field: that is done on the book's page.
    """
    if tags.text(product, "NotificationType") == DELETE_NOTIFICATION:
        raise RecordInvalid(
            "NotificationType 05 deletes a product, which an import does not do: to stop "
            "selling the book, adjust its copies to 0 on its stock page"
        )
    title, subtitle = _title(product, tags)
    fields: dict[str, object] = {
        "isbn13": _isbn(product, tags),
        "title": title,
        "subtitle": subtitle,
        "authors": _authors(product, tags),
        "publisher": _publisher(product, tags),
        "year": _year(product, tags),
        "format": _format(product, tags),
        "price_pence": _price(product, tags, default_currency=default_currency),
        "subjects": _subjects(product, tags),
        "description": _description(product, tags),
        "cover_url": _cover_url(product, tags),
    }
    return {name: value for name, value in fields.items() if value is not None}


def _isbn(product: etree._Element, tags: _Tags) -> str:
    identifiers = {
        tags.text(identifier, "ProductIDType"): tags.text(identifier, "IDValue")
        for identifier in tags.findall(product, "ProductIdentifier")
    }
    # A GTIN-13 starting 978 or 979 is the ISBN-13; the ISBN check rejects any other.
    isbn = identifiers.get(ISBN13_ID_TYPE) or identifiers.get(GTIN13_ID_TYPE)
    if isbn is None:
        raise RecordInvalid("missing ISBN: no ProductIdentifier with ProductIDType 15 (ISBN-13)")
    return isbn


def _first_preferred(
    elements: list[etree._Element],
    tags: _Tags,
    code_path: str,
    preferred: tuple[str, ...],
    *,
    or_first: bool = True,
) -> etree._Element | None:
    """The first element whose code at `code_path` is the most preferred; else the first one."""
    for code in preferred:
        for element in elements:
            if tags.text(element, code_path) == code:
                return element
    return elements[0] if elements and or_first else None


def _title(product: etree._Element, tags: _Tags) -> tuple[str | None, str | None]:
    details = tags.findall(product, "DescriptiveDetail/TitleDetail")
    detail = _first_preferred(details, tags, "TitleType", (PRODUCT_TITLE_TYPE,))
    if detail is None:
        return None, None
    elements = tags.findall(detail, "TitleElement")
    element = _first_preferred(elements, tags, "TitleElementLevel", (PRODUCT_LEVEL,))
    if element is None:
        return None, None
    title = tags.text(element, "TitleText")
    if title is None:
        prefix = tags.text(element, "TitlePrefix")
        rest = tags.text(element, "TitleWithoutPrefix")
        title = " ".join(part for part in (prefix, rest) if part) or None
    return title, tags.text(element, "Subtitle")


def _authors(product: etree._Element, tags: _Tags) -> list[str] | None:
    """The authors in order, or None when the Product names none (a held book keeps its own)."""
    authors: list[tuple[int, int, str]] = []
    for position, contributor in enumerate(tags.findall(product, "DescriptiveDetail/Contributor")):
        roles = {(role.text or "").strip() for role in tags.findall(contributor, "ContributorRole")}
        name = _contributor_name(contributor, tags)
        if AUTHOR_ROLE not in roles or name is None:
            continue
        sequence = tags.text(contributor, "SequenceNumber") or ""
        # Contributors without a SequenceNumber keep their order in the file, after the numbered.
        order = int(sequence) if sequence.isdecimal() else 1_000_000
        authors.append((order, position, name))
    return [name for _, _, name in sorted(authors)] or None


def _contributor_name(contributor: etree._Element, tags: _Tags) -> str | None:
    if name := tags.text(contributor, "PersonName"):
        return name
    key_names = tags.text(contributor, "KeyNames")
    if key_names:
        before = tags.text(contributor, "NamesBeforeKey")
        return f"{before} {key_names}" if before else key_names
    if inverted := tags.text(contributor, "PersonNameInverted"):
        key, _, before = inverted.partition(",")
        return f"{before.strip()} {key.strip()}".strip()
    return tags.text(contributor, "CorporateName")


def _subjects(product: etree._Element, tags: _Tags) -> list[str] | None:
    """The Subjects' heading texts, or None when no Subject has one.

    Subjects are the shop's shelves. A bare SubjectCode (Thema "JPS", BIC "NHB") is a code in a
    classification the shop does not shelve by, not a name: it is not made a subject.
    """
    subjects: list[str] = []
    for subject in tags.findall(product, "DescriptiveDetail/Subject"):
        heading = tags.text(subject, "SubjectHeadingText")
        if heading is None:
            continue
        if tags.text(subject, "SubjectSchemeIdentifier") == KEYWORDS_SCHEME:
            subjects.extend(word.strip() for word in heading.split(";") if word.strip())
        else:
            subjects.append(heading)
    return subjects or None


def _publisher(product: etree._Element, tags: _Tags) -> str | None:
    publishers = tags.findall(product, "PublishingDetail/Publisher")
    publisher = _first_preferred(publishers, tags, "PublishingRole", (MAIN_PUBLISHER,))
    if publisher is not None and (name := tags.text(publisher, "PublisherName")):
        return name
    return tags.text(product, "PublishingDetail/Imprint/ImprintName")


def _year(product: etree._Element, tags: _Tags) -> int | None:
    dates = tags.findall(product, "PublishingDetail/PublishingDate")
    date = _first_preferred(dates, tags, "PublishingDateRole", (PUBLICATION_DATE,))
    if date is None:
        return None
    text = tags.text(date, "Date") or ""
    # Every ONIX date format starts with the four-digit year (YYYYMMDD, YYYYMM, YYYY ...).
    if not text[:4].isdecimal():
        raise RecordInvalid(f"publication Date {text!r} does not start with a year")
    return int(text[:4])


def _format(product: etree._Element, tags: _Tags) -> str | None:
    code = tags.text(product, "DescriptiveDetail/ProductForm")
    if code is None:
        return None
    if code not in PRODUCT_FORMS:
        known = ", ".join(f"{code} {name}" for code, name in PRODUCT_FORMS.items())
        raise RecordInvalid(f"ProductForm {code} is not a printed book the shop sells ({known})")
    return PRODUCT_FORMS[code]


def _price(product: etree._Element, tags: _Tags, *, default_currency: str | None) -> int:
    prices = [
        price
        for price in tags.findall(product, "ProductSupply/SupplyDetail/Price")
        if (tags.text(price, "CurrencyCode") or default_currency) == "GBP"
    ]
    price = _first_preferred(prices, tags, "PriceType", PRICE_TYPE_PREFERENCE)
    if price is None:
        raise RecordInvalid("missing price: no Price with CurrencyCode GBP")
    amount = tags.text(price, "PriceAmount")
    if amount is None:
        raise RecordInvalid("missing price: the GBP Price has no PriceAmount")
    try:
        return pounds_to_pence(amount)
    except BadPrice as error:
        raise RecordInvalid(str(error)) from error


def _description(product: etree._Element, tags: _Tags) -> str | None:
    texts = tags.findall(product, "CollateralDetail/TextContent")
    content = _first_preferred(
        texts, tags, "TextType", (MAIN_DESCRIPTION, SHORT_DESCRIPTION), or_first=False
    )
    if content is None:
        return None
    text = tags.find(content, "Text")
    return (_plain_text(text) or None) if text is not None else None


def _plain_text(text: etree._Element) -> str:
    """The words of a Text, whether plain, escaped HTML, or XHTML inside the element."""
    container = text
    if not len(text):
        words = text.text or ""
        if "<" not in words:
            return " ".join(words.split())
        container = html.fragment_fromstring(words, create_parent="div")
    # A space after each block keeps paragraphs apart; inline tags (<i>, <b>) join as written.
    for element in container.iterdescendants():
        if isinstance(element.tag, str) and etree.QName(element).localname in _BLOCK_TAGS:
            element.tail = " " + (element.tail or "")
    return " ".join("".join(container.itertext()).split())


def _cover_url(product: etree._Element, tags: _Tags) -> str | None:
    for resource in tags.findall(product, "CollateralDetail/SupportingResource"):
        if tags.text(resource, "ResourceContentType") == FRONT_COVER:
            return tags.text(resource, "ResourceVersion/ResourceLink")
    return None
