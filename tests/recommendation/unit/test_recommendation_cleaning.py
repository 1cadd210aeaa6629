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
