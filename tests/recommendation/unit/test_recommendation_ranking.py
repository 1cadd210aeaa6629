from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from services.recommendation.books import IndexedBook, read_books
from services.recommendation.cleaning import clean_html
from services.recommendation.evaluation import clean_input, read_articles
from services.recommendation.mentions import MentionIndex, MentionKind
from services.recommendation.ranking import Ranker, Recommendation
from services.recommendation.ranking_config import RankerConfig
from services.recommendation.semantic import minilm_embedder

DATA = Path(__file__).parents[2] / "data"
CALLINICOS = "9798463348616"


@pytest.fixture(scope="module")
def shop() -> Ranker:
    return Ranker(read_books(DATA / "books.jsonl"))


def book(isbn: str, title: str, available: int = 1, **fields: object) -> IndexedBook:
    return IndexedBook(
        isbn13=isbn,
        title=title,
        authors=fields.pop("authors", ("A. Writer",)),  # type: ignore[arg-type]
        subjects=fields.pop("subjects", ("trade-unions",)),  # type: ignore[arg-type]
        description=str(fields.pop("description", "")),
        available=available,
    )


STRIKE = "Miners strike: flying pickets close the coke depot as the strike spreads."
SMALL = [
    book("9780000000001", "The Great Strike", 0, description="Miners' strike and flying pickets."),
    book("9780000000002", "The Great Strike", 3, description="Miners' strike and flying pickets."),
    book(
        "9780000000003", "Pickets and Power", 0, description="Flying pickets in the miners' strike."
    ),
    book("9780000000004", "Kitchen Diaries", 5, subjects=("cookery",), description="Recipes."),
    book("9780000000005", "Garden Year", 5, subjects=("gardening",), description="Sowing seeds."),
]


@pytest.fixture(params=[True, False], ids=["rerank", "no-rerank"])
def small(request: pytest.FixtureRequest) -> Ranker:
    return Ranker(SMALL, config=RankerConfig(rerank=request.param))


def isbns(ranker: Ranker, text: str, **kwargs: object) -> list[str]:
    return [r.isbn13 for r in ranker.recommend(text, **kwargs)]  # type: ignore[arg-type]


def books_of(ranker: Ranker, results: Sequence[Recommendation]) -> list[IndexedBook]:
    """The books recommended, as the ranker holds them."""
    books = {b.isbn13: b for b in ranker.books()}
    return [books[r.isbn13] for r in results]


def test_seed_article_gives_callinicos_first_with_a_reason(shop: Ranker) -> None:
    text = (DATA / "seed-article.txt").read_text(encoding="utf-8")

    results = shop.recommend(text, k=5)

    assert results[0].isbn13 == CALLINICOS
    assert "names this book" in results[0].reason
    assert "Imperialism and Global Political Economy" in results[0].reason
    assert all(r.reason for r in results)


def test_every_public_article_that_names_a_book_by_title_has_it_first(shop: Ranker) -> None:
    index = MentionIndex()
    books = shop.books()
    for position, each in enumerate(books):
        index.add(position, each)
    naming = 0
    for article in read_articles(DATA / "articles-public.jsonl"):
        text = clean_input(article)
        found = index.find(text if isinstance(text, str) else text.full_text)
        titled = {books[p].isbn13 for p, m in found.items() if m.kind == MentionKind.TITLE}
        if titled:
            naming += 1
            assert shop.recommend(text, k=1)[0].isbn13 in titled, article.id
    # the seed article, Ten Days echoed in a headline, The Black Jacobins and six more
    assert naming >= 9


def test_unnamed_books_carry_the_subjects_and_terms_that_matched(shop: Ranker) -> None:
    results = shop.recommend("Russian tanks crushed the workers' councils of Budapest.", k=3)

    assert all(r.reason.startswith("On ") for r in results)


def test_the_first_book_comes_with_its_other_editions_in_stock_first(small: Ranker) -> None:
    assert isbns(small, STRIKE, k=5)[:2] == ["9780000000002", "9780000000001"]


def test_a_title_names_every_edition_of_its_work(small: Ranker) -> None:
    results = small.recommend("I have just read The Great Strike again.", k=2)

    assert [r.isbn13 for r in results] == ["9780000000002", "9780000000001"]
    assert all("names this book" in r.reason for r in results)


def test_the_book_after_a_named_one_comes_with_its_other_editions(small: Ranker) -> None:
    ranked = isbns(small, "Pickets and Power, on the flying pickets of the miners' strike.", k=5)

    assert ranked[:3] == ["9780000000003", "9780000000002", "9780000000001"]


PIT_NOVEL = book(
    "9780000000021",
    "Pit Village",
    authors=("Nora Penn",),
    subjects=("fiction", "trade-unions"),
    description="Miners on strike, flying pickets at the coke depot, a pit village starving.",
)
PIT_HISTORY = book(
    "9780000000022",
    "The Miners' Year",
    authors=("Tom Ledger",),
    subjects=("labour-history", "trade-unions"),
    description="A history of the miners' strike and its pickets.",
)


@pytest.fixture(params=[True, False], ids=["rerank", "no-rerank"])
def pits(request: pytest.FixtureRequest) -> Ranker:
    return Ranker([PIT_NOVEL, PIT_HISTORY, *SMALL[3:]], config=RankerConfig(rerank=request.param))


def test_a_news_report_gets_the_history_before_a_closer_novel(pits: Ranker) -> None:
    text = "Miners on strike: flying pickets at the coke depot as the pit village starves."

    assert isbns(pits, text, k=2) == [PIT_HISTORY.isbn13, PIT_NOVEL.isbn13]
    without_rule = Ranker(pits.books(), config=RankerConfig(imaginative_penalty=0.0))
    assert isbns(without_rule, text, k=1) == [PIT_NOVEL.isbn13]


def test_an_article_about_novels_or_naming_the_novelist_gets_the_novel_first(pits: Ranker) -> None:
    about_novels = "A novel of miners on strike, flying pickets at the coke depot, a pit village."
    names_author = "Nora Penn on miners on strike, flying pickets at the coke depot."

    assert isbns(pits, about_novels, k=1) == [PIT_NOVEL.isbn13]
    assert isbns(pits, names_author, k=1) == [PIT_NOVEL.isbn13]


def test_in_stock_book_goes_ahead_of_an_equally_good_out_of_stock_one() -> None:
    text = "Miners' strike and flying pickets."
    twins = [
        book("9780000000011", "The Strike", 0, authors=("Ann Writer",), description=text),
        book("9780000000012", "The Strike", 4, authors=("Bob Writer",), description=text),
        *SMALL[3:],
    ]
    ranker = Ranker(twins, config=RankerConfig(rerank=False))

    assert isbns(ranker, STRIKE, k=2) == ["9780000000012", "9780000000011"]


def test_pins_come_first_in_the_editors_order_and_bans_never(small: Ranker) -> None:
    ranked = isbns(
        small,
        STRIKE,
        k=4,
        pins=["9780000000005", "9780000000004"],
        bans=["9780000000002", "9780000000003"],
    )

    assert ranked[:2] == ["9780000000005", "9780000000004"]
    assert "9780000000002" not in ranked
    assert "9780000000003" not in ranked
    assert small.recommend(STRIKE, k=2, pins=["9780000000005"])[0].reason.startswith("Pinned")


def test_stock_change_shows_without_reindexing(small: Ranker) -> None:
    lexical_before = small._lexical
    small.upsert(
        book(
            "9780000000002", "The Great Strike", 0, description="Miners' strike and flying pickets."
        )
    )
    small.upsert(
        book(
            "9780000000001", "The Great Strike", 2, description="Miners' strike and flying pickets."
        )
    )

    ranked = isbns(small, STRIKE, k=5)

    assert small._lexical is lexical_before
    assert ranked[:2] == ["9780000000001", "9780000000002"]  # now in stock, it leads


def test_new_and_changed_books_are_found_without_a_rebuild(small: Ranker) -> None:
    small.upsert(book("9780000000006", "Glorious Summer", 1, description="Saltley Gate victory."))
    small.upsert(
        book(
            "9780000000004",
            "Kitchen Diaries",
            5,
            subjects=("cookery",),
            description="Saltley Gate picnic recipes.",
        )
    )

    assert isbns(small, "The Saltley Gate victory of 1972", k=1) == ["9780000000006"]
    # "picnic" is only in the changed description
    assert isbns(small, "A picnic by the canal", k=1) == ["9780000000004"]
    assert len(small) == 6


def test_a_rare_subject_shared_with_the_leading_book_counts_more_than_a_common_one() -> None:
    lives = [
        book(f"978000000010{i}", f"A Life {i}", subjects=("biography",), description="A life.")
        for i in range(4)
    ]
    leader = book("9780000000200", "Gaza", subjects=("palestine", "biography"))
    on_palestine = book("9780000000201", "The Wall", subjects=("palestine", "history-general"))
    on_a_life = book("9780000000202", "A Soldier", subjects=("biography", "war-peace"))
    ranker = Ranker([*lives, leader, on_palestine, on_a_life], config=RankerConfig(rerank=False))
    candidates = np.array([ranker._positions[b.isbn13] for b in (leader, on_palestine, on_a_life)])

    shared = ranker._shared_subjects(candidates, lead=np.array([0]))

    assert shared[0] == pytest.approx(1.0)
    assert shared[1] > shared[2] > 0


CARE = "Who does the unpaid care work at home? Social reproduction keeps the economy running."
SHELF = [
    book(
        "9780000000301",
        "Social Reproduction Theory",
        subjects=("womens-liberation",),
        description="Unpaid care work at home and the social reproduction of labour power.",
    ),
    book(
        "9780000000302",
        "Marxism and Women's Liberation",
        subjects=("womens-liberation",),
        description="Women's oppression under capitalism and the fight for liberation.",
    ),
    book("9780000000303", "Kitchen Diaries", subjects=("cookery",), description="Recipes."),
    book("9780000000304", "Garden Year", subjects=("gardening",), description="Sowing seeds."),
    book("9780000000305", "Cup Final", subjects=("sport",), description="A season of football."),
]


@pytest.mark.parametrize("lead_neighbours", [0, 1])
def test_the_leading_books_closest_neighbour_joins_the_candidates(lead_neighbours: int) -> None:
    # candidates: the one best book by each cheap stage, none of MiniLM's own
    config = RankerConfig(
        candidates_per_stage=1, semantic_shortlist=0, lead_neighbours=lead_neighbours
    )
    ranker = Ranker(SHELF, config=config)

    ranked = isbns(ranker, CARE, k=3)

    assert ranked[0] == "9780000000301"
    assert ("9780000000302" in ranked) == (lead_neighbours > 0)


def test_removed_book_is_never_recommended(small: Ranker) -> None:
    small.remove("9780000000003")

    assert "9780000000003" not in isbns(small, STRIKE, k=5)
    assert small.get("9780000000003") is None


def test_compaction_rebuilds_after_many_changes() -> None:
    ranker = Ranker(SMALL, config=RankerConfig(rerank=False, compact_after=2))
    for n in range(3):
        ranker.upsert(book(f"978000000010{n}", f"Strike Diary {n}", 1, description="Pickets."))

    assert ranker._lexical.overlay_size < 2
    assert len(ranker) == 8


def test_empty_article_gives_only_pins(small: Ranker) -> None:
    assert isbns(small, "   ", k=3, pins=["9780000000004"]) == ["9780000000004"]


class CountingEmbedder:
    """MiniLM, counting the texts it is given."""

    dimensions = 384

    def __init__(self) -> None:
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return minilm_embedder().embed(texts)


def test_an_article_ranked_again_runs_minilm_on_nothing_new() -> None:
    model = CountingEmbedder()
    # no vectors at build: every book's is made when a ranking first needs it
    ranker = Ranker(SMALL, config=RankerConfig(eager_rerank_limit=0), rerank_model=model)
    made_at_build = model.texts
    first = ranker.recommend(STRIKE, k=3)
    assert model.texts > made_at_build

    seen = model.texts
    assert ranker.recommend(STRIKE, k=3) == first
    assert model.texts == seen

    ranker.forget_articles()
    assert ranker.recommend(STRIKE, k=3) == first
    assert model.texts == seen + 1


def test_a_catalogue_that_arrives_after_the_build_gets_its_shelves() -> None:
    # a shop's first start: the index is built before the catalogue's events arrive
    ranker = Ranker([], config=RankerConfig(rerank=False))
    for each in SMALL:
        ranker.upsert(each)

    first = ranker.recommend(STRIKE, k=1)[0]

    assert first.reason.startswith("On trade unions")


def test_a_catalogue_added_book_by_book_ranks_as_one_built_at_once() -> None:
    """A shop's first start builds its index before the catalogue's events arrive."""
    books = read_books(DATA / "books.jsonl")
    config = RankerConfig(rerank=False)
    built, added = Ranker(books, config=config), Ranker([], config=config)
    for each in books:
        added.upsert(each)

    for article in read_articles(DATA / "articles-public.jsonl"):
        text = clean_input(article)
        assert {r.isbn13 for r in added.recommend(text, k=3)} == {
            r.isbn13 for r in built.recommend(text, k=3)
        }, article.id


def test_a_town_named_brings_the_books_on_its_country(shop: Ranker) -> None:
    text = (
        "Settlers uproot olive groves as harvest begins\n"
        "Farmers in villages near Nablus found hundreds of trees cut down overnight, days "
        "before they were due to pick. Soldiers stood by while armed men from a nearby "
        "hilltop outpost stoned families trying to reach their land."
    )

    results = shop.recommend(text, k=3)

    assert all("palestine" in book.subjects for book in books_of(shop, results))
    assert "\u201cNablus, Palestinian Territory\u201d" in results[0].reason


def test_an_author_credited_with_a_work_has_their_book_on_the_subject_first(shop: Ranker) -> None:
    text = (
        "Washington's wars never end. Chomsky's book on American power is still the place to start."
    )

    results = shop.recommend(text, k=3)

    assert books_of(shop, results)[0].title == "Hegemony or Survival"
    assert "names the author, Noam Chomsky" in results[0].reason


def test_a_title_a_page_sets_in_italics_names_the_book(shop: Ranker) -> None:
    page = clean_html(
        "<h1>Pit towns remember</h1><p>Forty years on, the strike is still argued over in the"
        " clubs. Many there first read <i>Germinal</i> at school.</p>"
    )

    results = shop.recommend(page.full_text, k=3)

    assert books_of(shop, results)[0].title == "Germinal"
    assert "names this book" in results[0].reason


def test_an_author_named_in_an_article_on_their_books_subject_has_that_book_first(
    shop: Ranker,
) -> None:
    text = (
        "Thousands marched against the war. Noam Chomsky spoke to the rally about the next "
        "war the generals are planning."
    )

    results = shop.recommend(text, k=3)

    assert books_of(shop, results)[0].title == "Hegemony or Survival"


def test_an_author_named_in_passing_does_not_lead_an_article_on_another_subject(
    shop: Ranker,
) -> None:
    text = (
        "Nurses struck for a second day over pay. One picket said she had read Noam Chomsky "
        "at college. Ambulance workers will join them next week."
    )

    results = shop.recommend(text, k=3)

    assert all("trade-unions" in book.subjects for book in books_of(shop, results))
