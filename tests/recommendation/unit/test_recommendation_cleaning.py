from pathlib import Path

import pytest

from services.recommendation.cleaning import clean_article, clean_html, clean_parts, clean_text

DATA = Path(__file__).parents[2] / "data"


def seed() -> str:
    return (DATA / "seed-article.txt").read_text(encoding="utf-8")


def test_seed_article_keeps_its_headline_and_body() -> None:
    article = clean_article(seed())

    assert article.headline == "Revolution in the 'progressive' bloc"
    assert article.paragraphs[0].startswith("The revolutionary socialist tradition")
    assert "Alex Callinicos\u2019s book Imperialism and Global Political Economy" in article.text


def test_seed_article_loses_its_site_furniture() -> None:
    text = clean_article(seed()).full_text

    for furniture in (
        "Click here to subscribe",
        "Breakfast in red",
        "Article information",
        "Share this article",
        "Issue No. 2308",
        "020 7637 1848",
        "Mobile users",
        "home screen",
        "16:56 BST",
        "Socialist Worker\n",
    ):
        assert furniture not in text


def test_html_article_drops_navigation_share_buttons_and_promotions() -> None:
    html = """<html><head><title>Strike news | The Paper</title></head><body>
    <nav><a href="/">Home</a> <a href="/news">News</a></nav>
    <article><h1>Nurses strike again</h1>
      <div class="share-tools"><button>Share on Facebook</button> Tweet</div>
      <p>Nurses walked out for a second day.</p>
      <p>Click here to subscribe to our newsletter.</p>
      <p>The union says pay has fallen. Call 020 7637 1848 for copies.</p>
    </article>
    <aside class="related">Related: cookery tips</aside><footer>All rights reserved</footer>
    </body></html>"""

    article = clean_article(html)

    assert article.headline == "Nurses strike again"
    assert article.paragraphs == (
        "Nurses walked out for a second day.",
        "The union says pay has fallen.",
    )


def test_structured_article_is_cleaned_paragraph_by_paragraph() -> None:
    article = clean_parts(
        "A headline", ["First  paragraph.", "Share this article", "Sign up for our newsletter."]
    )

    assert article.text == "First paragraph."


@pytest.mark.parametrize(
    "quoting",
    [
        "The union's site wraps each claim in <b>bold</b> tags.",
        "If a < b > c then the real wage falls.",
        "The page's <p> and <br> tags were left in the headline.",
        "When inflation r < p the real wage rises.",
        "Its source began <html><body><h1>Strike</h1>, the paper said.",
    ],
    ids=["bold", "comparison", "block-tags", "r-less-than-p", "document-tags"],
)
def test_plain_text_is_taken_as_it_is_whatever_tags_it_quotes(quoting: str) -> None:
    raw = f"""Socialist Worker
Web workers walk out
{quoting}
Share this article
Pickets stood at the gate all day. Call 020 7637 1848 for copies.
Click here to subscribe.
"""

    article = clean_text(raw)

    assert article.headline == "Web workers walk out"
    assert article.paragraphs == (quoting, "Pickets stood at the gate all day.")


def test_html_is_read_as_html_whichever_tags_it_uses() -> None:
    # None of these tags is one clean_article takes for a sign of HTML.
    article = clean_html("<h2>Depot strike</h2><ul><li>Pickets at the gate.</li></ul>")

    assert article.paragraphs == ("Depot strike", "Pickets at the gate.")


@pytest.mark.parametrize(
    ("html", "paragraph"),
    [
        ('<p>the <a href="#">depot</a>, and <em>the</em>.</p>', "the depot, and the."),
        (
            '<p>Pickets stood at <a href="/depot">the depot</a>; drivers <a href="#">turned back</a>.</p>',
            "Pickets stood at the depot; drivers turned back.",
        ),
        (
            '<p>The <strong>strike at <em>the <a href="#">depot</a></em></strong>, the union said.</p>',
            "The strike at the depot, the union said.",
        ),
        (
            "<p>The <abbr>TUC</abbr> (<cite>Labour Research</cite>) met on <time>Monday</time>:"
            " <q>pay</q>, <small>hours</small>, <u>H</u><sub>2</sub>O, 10<sup>th</sup>,"
            " <code>rota</code>, <mark>won</mark>, <s>lost</s>, <span>kept</span>.</p>",
            "The TUC (\u201cLabour Research\u201d) met on Monday: pay, hours, H2O, 10th, rota, won,"
            " lost, kept.",
        ),
        ("<p>Nurses walked\n      out <span>again</span>.</p>", "Nurses walked out again."),
        ("<p>Pickets&nbsp;stood  at\tthe <b> gate</b>.</p>", "Pickets stood at the gate."),
    ],
    ids=["link-and-em", "links-before-punctuation", "nested", "every-inline", "wrapped", "spaces"],
)
def test_html_inline_elements_run_on_in_their_sentence(html: str, paragraph: str) -> None:
    assert clean_html(html).paragraphs == (paragraph,)


def test_html_title_in_italics_is_kept_in_quotation_marks() -> None:
    article = clean_html(
        "<h1>Review: <i>Germinal</i></h1><p>Zola's <i> Germinal </i> is back.</p>"
        "<p>It is <i>the</i> novel of the <em>Strike</em>, read <cite>today</cite>.</p>"
    )

    assert article.headline == "Review: \u201cGerminal\u201d"
    # emphasis: lower case, or <em>
    assert article.paragraphs == (
        "Zola's \u201cGerminal\u201d is back.",
        "It is the novel of the Strike, read today.",
    )


def test_html_fragment_of_inline_tags_is_one_paragraph() -> None:
    article = clean_html("Strikers at the <b>depot</b> won <i>today</i>.")

    assert article.paragraphs == ("Strikers at the depot won today.",)


def test_html_line_break_inside_a_paragraph_breaks_the_line() -> None:
    article = clean_html("<p>Pickets at the <b>gate</b>,<br>drivers turned back.</p><p>Next.</p>")

    assert article.paragraphs == ("Pickets at the gate,", "drivers turned back.", "Next.")


def test_html_blocks_still_separate_lines() -> None:
    article = clean_html(
        "<div>Strikers <b>won</b>.<div>Pickets went home.</div></div><section>Talks resume.</section>"
        "<table><tr><td>Day one</td><td>Day <i>two</i></td></tr></table><h5>Next week</h5>"
    )

    assert article.paragraphs == (
        "Strikers won.",
        "Pickets went home.",
        "Talks resume.",
        "Day one",
        "Day two",
        "Next week",
    )


def test_html_article_blocks_are_read_once_and_loose_text_left_out() -> None:
    article = clean_html(
        """<article><h1>Nurses <em>strike</em>
        again</h1><span class="kicker">Live</span>
        <p>Nurses walked out.</p><blockquote><p>We will <em>win</em>.</p></blockquote>
        <ul><li><p>Pay</p></li><li>Staffing <b>levels</b></li></ul>
        <pre>Picket rota:
  Monday <b>early</b></pre></article>"""
    )

    assert article.headline == "Nurses strike again"
    assert article.paragraphs == (
        "Nurses walked out.",
        "We will win.",
        "Pay",
        "Staffing levels",
        "Picket rota:",
        "Monday early",
    )


def test_html_nested_deeper_than_the_recursion_limit_is_read() -> None:
    depth = 5000

    article = clean_html(f"<p>Pickets at {'<b>' * depth}the depot{'</b>' * depth}.</p>")

    assert article.paragraphs == ("Pickets at the depot.",)


LONG_PARAGRAPH = (
    "Quantum computers threaten the encryption that keeps bank transfers and medical "
    "records private, because a large enough machine running Shor's algorithm could factor "
    "the numbers on which RSA depends in hours rather than millennia. Cryptographers are "
    "already replacing those schemes with ones built on lattices."
)


def test_text_pasted_as_one_long_paragraph_is_headed_by_its_first_sentence_cut_short() -> None:
    article = clean_text(LONG_PARAGRAPH)

    assert article.headline == (
        "Quantum computers threaten the encryption that keeps bank transfers and medical "
        "records private, because a large enough\u2026"
    )
    assert len(article.headline) == 120
    # no words are lost to the headline made for it
    assert article.text == LONG_PARAGRAPH


def test_text_whose_first_line_is_a_paragraph_keeps_it_and_is_headed_by_its_first_sentence() -> (
    None
):
    raw = "Lenin was right about the state. The workers must smash it.\nThe second paragraph."

    article = clean_text(raw)

    assert article.headline == "Lenin was right about the state."
    assert article.paragraphs == (
        "Lenin was right about the state. The workers must smash it.",
        "The second paragraph.",
    )


def test_a_long_first_line_without_a_full_stop_is_still_the_headline() -> None:
    headline = (
        "Why the strikes that swept the hospitals this winter were won on the picket lines "
        "and not at the negotiating table"
    )

    article = clean_text(f"{headline}\n{LONG_PARAGRAPH}")

    assert article.headline == headline
    assert article.text == LONG_PARAGRAPH
