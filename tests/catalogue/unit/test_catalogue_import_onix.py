"""ONIX 3.0: a realistic message, short tags, bad Products by record number, files refused,
and a parser that never fetches or expands entities."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from services.catalogue.imports.errors import ImportRefused
from services.catalogue.imports.onix import parse_onix
from services.catalogue.imports.records import ParsedBook, ParsedRecord, RecordError

IMPORTS = Path(__file__).resolve().parents[2] / "data" / "imports"
REFERENCE = 'xmlns="http://ns.editeur.org/onix/3.0/reference"'


def parse(text: str | bytes) -> list[ParsedRecord]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_onix(io.BytesIO(data)))


def product(body: str, *, reference: str = "ref.1") -> str:
    return f"<Product><RecordReference>{reference}</RecordReference>{body}</Product>"


def message(*products: str, release: str = "3.0") -> str:
    return (
        f'<ONIXMessage release="{release}" {REFERENCE}><Header/>{"".join(products)}</ONIXMessage>'
    )


MINIMAL = (
    "<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>9798463348616</IDValue>"
    "</ProductIdentifier><DescriptiveDetail><TitleDetail><TitleType>01</TitleType><TitleElement>"
    "<TitleElementLevel>01</TitleElementLevel><TitleText>T</TitleText></TitleElement>"
    "</TitleDetail></DescriptiveDetail><ProductSupply><SupplyDetail><Price>"
    "<PriceAmount>5</PriceAmount><CurrencyCode>GBP</CurrencyCode></Price></SupplyDetail>"
    "</ProductSupply>"
)


def test_a_realistic_message_gives_every_field_of_its_good_products() -> None:
    records = list(parse_onix((IMPORTS / "sample.onix.xml").open("rb")))
    assert [record.location.record for record in records] == [1, 2, 3, 4, 5]
    books = {r.book.isbn13: r.book for r in records if isinstance(r, ParsedBook)}
    assert list(books) == ["9798463348616", "9798776421921", "9798319747327"]

    callinicos = books["9798463348616"]
    assert callinicos.title == "Imperialism and Global Political Economy"
    assert callinicos.authors == ["Alex Callinicos"]
    assert (callinicos.publisher, callinicos.year, callinicos.format) == (
        "Polity",
        2009,
        "paperback",
    )
    assert callinicos.price_pence == 1999  # the GBP price, not the USD or EUR one
    assert callinicos.subjects == ["imperialism", "political-economy"]
    assert callinicos.description == (
        "A Marxist account of imperialism as the meeting of two logics. "
        "From the scramble for colonies to the rise of China."
    )
    assert callinicos.cover_url == "https://covers.example.com/9798463348616.jpg"

    manifesto = books["9798776421921"]
    assert manifesto.title == "The Communist Manifesto"
    assert manifesto.authors == [
        "Karl Marx",
        "Friedrich Engels",
    ]  # by SequenceNumber; no translator
    assert (manifesto.format, manifesto.year, manifesto.price_pence) == ("hardback", 2010, 2399)
    assert manifesto.description == (
        "The 1848 pamphlet that announced a world movement. Class struggle as the motor of history."
    )

    harman = books["9798319747327"]
    assert harman.authors == ["Chris Harman"]
    assert harman.subtitle == "From the Stone Age to the New Millennium"
    assert harman.price_pence == 1000
    # Its only Subject is a bare Thema code: no shelf name, so no subjects given.
    assert harman.subjects == []
    harman_record = next(r for r in records if isinstance(r, ParsedBook) and r.book is harman)
    assert "subjects" not in harman_record.given


def test_bad_products_are_reported_by_record_number_and_reference() -> None:
    records = list(parse_onix((IMPORTS / "sample.onix.xml").open("rb")))
    errors = [str(record) for record in records if isinstance(record, RecordError)]
    assert errors == [
        "record 3 (RecordReference com.example.bookmarks.9798267335745): invalid ISBN: "
        "'9798267335745' has a wrong check digit: is a digit mistyped?",
        "record 5 (RecordReference com.example.haymarket.9798679175945): "
        "missing price: no Price with CurrencyCode GBP",
    ]


def test_short_tags_read_the_same() -> None:
    records = list(parse_onix((IMPORTS / "sample-short.onix").open("rb")))
    first, second = records
    assert isinstance(first, ParsedBook)
    assert first.book.title == "Unravelling Capitalism"
    assert first.book.subtitle == "A Guide to Marxist Political Economy"
    assert first.book.authors == ["Joseph Choonara"]
    assert (first.book.publisher, first.book.year, first.book.price_pence) == (
        "Bookmarks",
        2017,
        2399,
    )
    assert first.book.subjects == ["political-economy"]
    assert first.book.description == "A clear introduction to Marx's economics."
    assert str(second) == "record 2 (RecordReference com.example.bookmarks.nameless): missing title"


def test_a_message_without_the_namespace_is_read_by_its_tag_names() -> None:
    [record] = parse(message(product(MINIMAL)).replace(REFERENCE, ""))
    assert isinstance(record, ParsedBook)
    assert record.book.price_pence == 500


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            MINIMAL.replace("<ProductIDType>15", "<ProductIDType>01"),
            "missing ISBN: no ProductIdentifier",
        ),
        (MINIMAL.replace("<PriceAmount>5<", "<PriceAmount>4.999<"), "not a whole number of pence"),
        (MINIMAL.replace("<PriceAmount>5<", "<PriceAmount>five<"), "bad price 'five'"),
        (
            MINIMAL.replace(
                "<DescriptiveDetail>", "<DescriptiveDetail><ProductForm>ED</ProductForm>"
            ),
            "ProductForm ED is not a printed book the shop sells",
        ),
        (
            "<NotificationType>05</NotificationType>" + MINIMAL,
            "NotificationType 05 deletes a product",
        ),
        (
            MINIMAL
            + "<PublishingDetail><PublishingDate><Date>c. 1990</Date></PublishingDate></PublishingDetail>",
            "publication Date 'c. 1990' does not start with a year",
        ),
    ],
)
def test_a_bad_product_is_skipped_with_its_reason(body: str, reason: str) -> None:
    [record] = parse(message(product(body, reference="ref.9")))
    assert isinstance(record, RecordError)
    assert str(record.location) == "record 1 (RecordReference ref.9)"
    assert reason in record.reason


def with_subjects(*subjects: str) -> str:
    return MINIMAL.replace("</DescriptiveDetail>", "".join(subjects) + "</DescriptiveDetail>")


def subject(scheme: str, *, code: str | None = None, heading: str | None = None) -> str:
    parts = f"<SubjectSchemeIdentifier>{scheme}</SubjectSchemeIdentifier>"
    parts += f"<SubjectCode>{code}</SubjectCode>" if code else ""
    parts += f"<SubjectHeadingText>{heading}</SubjectHeadingText>" if heading else ""
    return f"<Subject>{parts}</Subject>"


def test_a_product_gives_only_the_fields_it_carries() -> None:
    # A supplier feed's usual Product: a Thema code, no CollateralDetail, no Contributor.
    [record] = parse(message(product(with_subjects(subject("93", code="JPS")))))
    assert isinstance(record, ParsedBook)
    # A book already held keeps every other field; a new one starts without them.
    assert record.given == {"isbn13", "title", "price_pence"}
    assert (record.book.subjects, record.book.description, record.book.authors) == ([], "", [])


def test_a_full_product_gives_every_field_it_describes() -> None:
    record = next(parse_onix((IMPORTS / "sample.onix.xml").open("rb")))
    assert isinstance(record, ParsedBook)
    assert record.given == {
        "isbn13",
        "title",
        "authors",
        "publisher",
        "year",
        "format",
        "price_pence",
        "subjects",
        "description",
        "cover_url",
    }


@pytest.mark.parametrize(
    ("subjects", "expected"),
    [
        (
            (subject("93", code="JPS"), subject("12", code="JPS"), subject("10", code="POL000000")),
            None,
        ),
        (
            (subject("20", heading="Marxism; political economy ;; "),),
            ["marxism", "political-economy"],
        ),
        (
            (subject("93", code="JPS", heading="Politics &amp; government"),),
            ["politics-government"],
        ),
        (
            (subject("93", code="JPS"), subject("20", heading="Imperialism")),
            ["imperialism"],
        ),
    ],
    ids=["bare-codes", "keywords", "heading-with-code", "code-and-keyword"],
)
def test_subjects_come_from_heading_texts_never_from_bare_codes(
    subjects: tuple[str, ...], expected: list[str] | None
) -> None:
    [record] = parse(message(product(with_subjects(*subjects))))
    assert isinstance(record, ParsedBook)
    assert ("subjects" in record.given) == (expected is not None)
    assert record.book.subjects == (expected or [])


def test_an_empty_description_is_not_given() -> None:
    body = MINIMAL + (
        "<CollateralDetail><TextContent><TextType>03</TextType><Text> <p></p> </Text>"
        "</TextContent></CollateralDetail>"
    )
    [record] = parse(message(product(body)))
    assert isinstance(record, ParsedBook)
    assert "description" not in record.given


def test_a_gtin_13_stands_in_for_a_missing_isbn_13() -> None:
    [record] = parse(message(product(MINIMAL.replace("<ProductIDType>15", "<ProductIDType>03"))))
    assert isinstance(record, ParsedBook)
    assert record.book.isbn13 == "9798463348616"


@pytest.mark.parametrize(
    ("header", "found"),
    [
        ("<Header><DefaultCurrencyCode>GBP</DefaultCurrencyCode></Header>", 500),
        ("<Header><DefaultCurrencyCode>USD</DefaultCurrencyCode></Header>", None),
        ("<Header/>", None),
    ],
)
def test_a_price_without_its_currency_is_in_the_headers_default_currency(
    header: str, found: int | None
) -> None:
    body = MINIMAL.replace("<CurrencyCode>GBP</CurrencyCode>", "")
    [record] = parse(message(product(body)).replace("<Header/>", header))
    if found is None:
        assert isinstance(record, RecordError)
        assert "no Price with CurrencyCode GBP" in record.reason
    else:
        assert isinstance(record, ParsedBook)
        assert record.book.price_pence == found


def test_a_default_currency_does_not_override_a_prices_own() -> None:
    dollars = MINIMAL.replace("<CurrencyCode>GBP<", "<CurrencyCode>USD<")
    header = "<Header><DefaultCurrencyCode>GBP</DefaultCurrencyCode></Header>"
    [record] = parse(message(product(dollars)).replace("<Header/>", header))
    assert isinstance(record, RecordError)
    assert "no Price with CurrencyCode GBP" in record.reason


def test_short_tags_read_the_default_currency() -> None:
    [record] = parse(
        '<ONIXmessage release="3.0" xmlns="http://ns.editeur.org/onix/3.0/short">'
        "<header><m186>GBP</m186></header><product><a001>ref.1</a001>"
        "<productidentifier><b221>15</b221><b244>9798463348616</b244></productidentifier>"
        "<descriptivedetail><titledetail><b202>01</b202><titleelement><x409>01</x409>"
        "<b203>T</b203></titleelement></titledetail></descriptivedetail>"
        "<productsupply><supplydetail><price><j151>7.50</j151></price></supplydetail>"
        "</productsupply></product></ONIXmessage>"
    )
    assert isinstance(record, ParsedBook)
    assert record.book.price_pence == 750


@pytest.mark.parametrize(
    ("content", "message_part"),
    [
        (message(product(MINIMAL))[:-20], "not well-formed XML"),
        ("isbn13,title,price_pence\n", "not well-formed XML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not well-formed XML"),
        ('<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "root element is <rss>"),
        ('<ONIXMessage release="2.1">' + product(MINIMAL) + "</ONIXMessage>", "release 2.1"),
        ("<ONIXMessage>" + product(MINIMAL) + "</ONIXMessage>", "no release attribute"),
        (
            '<ONIXMessage release="3.0" xmlns="http://example.com/onix">' + "</ONIXMessage>",
            "namespace is 'http://example.com/onix'",
        ),
    ],
)
def test_malformed_or_foreign_xml_is_refused(content: str | bytes, message_part: str) -> None:
    with pytest.raises(ImportRefused, match=message_part):
        parse(content)


def test_the_onix_dtds_named_characters_read_as_their_characters() -> None:
    doctype = (
        '<?xml version="1.0"?><!DOCTYPE ONIXMessage SYSTEM "http://www.editeur.org/onix/3.0/'
        'reference/ONIX_BookProduct_3.0_reference.dtd">'
    )
    body = MINIMAL.replace(
        "<TitleText>T<", "<TitleText>Les Mis&eacute;rables &mdash; Fantine&hellip;<"
    ) + (
        "<CollateralDetail><TextContent><TextType>03</TextType><Text>Paris,&nbsp;1832: "
        "<i>the barricades</i>&mdash;and after.</Text></TextContent></CollateralDetail>"
    )
    [record] = parse(doctype + message(product(body)))
    assert isinstance(record, ParsedBook)
    assert record.book.title == "Les Misérables — Fantine…"
    assert record.book.description == "Paris, 1832: the barricades—and after."


@pytest.mark.parametrize(
    "prolog",
    ["", '<?xml version="1.0" encoding="UTF-8"?>\n<!-- from the supplier -->\n', "\ufeff"],
    ids=["bare", "declaration-and-comment", "byte-order-mark"],
)
def test_html_named_characters_read_as_characters_in_a_file_without_a_dtd(prolog: str) -> None:
    body = MINIMAL.replace("<TitleText>T<", "<TitleText>Les Mis&eacute;rables&nbsp;&mdash; I<") + (
        "<CollateralDetail><TextContent><TextType>03</TextType><Text>Paris,&nbsp;1832: "
        "<i>the barricades</i>&hellip;</Text></TextContent></CollateralDetail>"
    )
    [record] = parse(prolog + message(product(body)))
    assert isinstance(record, ParsedBook)
    assert record.book.title == "Les Misérables\xa0— I"
    assert record.book.description == "Paris, 1832: the barricades…"


def test_a_file_without_a_dtd_keeps_its_line_numbers_in_a_refusal() -> None:
    document = '<?xml version="1.0"?>\n' + message(product(MINIMAL)).replace(
        "<Header/>", "<Header/>\n\n<Oops>&nbsp;</Product>"
    )
    with pytest.raises(ImportRefused, match="line 4"):
        parse(document)


def test_an_entity_a_files_own_doctype_leaves_undeclared_is_named_with_its_line() -> None:
    document = (
        '<?xml version="1.0"?>\n<!DOCTYPE ONIXMessage [<!ENTITY shop "Bookmarks">]>\n'
        + message(product(MINIMAL.replace("<TitleText>T<", "<TitleText>\nCaf&eacute;<")))
    )
    with pytest.raises(ImportRefused) as refused:
        parse(document)
    assert refused.value.message == (
        "line 4 uses the entity &eacute; without declaring it: write the character itself, "
        "or ask the supplier for a file whose DOCTYPE names the ONIX DTD"
    )


def test_an_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    document = (
        f'<?xml version="1.0"?><!DOCTYPE ONIXMessage [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        + message(product(MINIMAL.replace("<TitleText>T<", "<TitleText>T&xxe;<")))
    )
    records = parse(document)
    assert "TOP SECRET" not in repr(records)


def _entity_bomb(levels: int) -> str:
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, levels + 1)
    )
    return f'<?xml version="1.0"?><!DOCTYPE ONIXMessage [{entities}]>' + message(
        product(MINIMAL.replace("<TitleText>T<", f"<TitleText>T&a{levels};<"))
    )


def test_internal_entities_are_not_expanded() -> None:
    [record] = parse(_entity_bomb(2))
    assert isinstance(record, ParsedBook)
    assert "lol" not in record.book.title


def test_a_billion_laughs_is_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(ImportRefused, match="amplification"):
        parse(_entity_bomb(9))
    assert time.monotonic() - started < 2


def test_a_large_message_streams_through() -> None:
    count = 5_000
    products = (
        product(MINIMAL.replace("9798463348616", isbn), reference=f"ref.{n}")
        for n, isbn in enumerate(_isbns(count), start=1)
    )
    records = parse(message(*products))
    assert len(records) == count
    assert all(isinstance(record, ParsedBook) for record in records)
    assert records[-1].location.reference == f"ref.{count}"


def _isbns(count: int) -> list[str]:
    isbns = []
    for n in range(count):
        first12 = f"979800{n:06d}"
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
        isbns.append(first12 + str((10 - total % 10) % 10))
    return isbns
