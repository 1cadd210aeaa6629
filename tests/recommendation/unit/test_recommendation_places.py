import pytest

from services.recommendation.places import gazetteer


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Settlers stoned families near Nablus.", {"Nablus": "Palestinian Territory"}),
        # the most populous town of a name is the one meant
        ("The army bombed the palace in Santiago.", {"Santiago": "Chile"}),
        ("Pay is falling in Shenzhen\u2019s factories.", {"Shenzhen": "China"}),
        ("Strikers in Buenos Aires and Lagos.", {"Buenos Aires": "Argentina", "Lagos": "Nigeria"}),
        # a headline has no full stop: the paragraph after it opens a sentence all the same
        ("Teachers walk out\nReading teachers struck.", {}),
        ("Teachers in Reading struck.", {"Reading": "United Kingdom"}),
    ],
)
def test_towns_named_mid_sentence_give_their_country(text: str, named: dict[str, str]) -> None:
    assert gazetteer().countries_named(text) == named


@pytest.mark.parametrize(
    "text",
    [
        "The Mau Mau rising was crushed.",  # a town's name inside a longer name
        "George Floyd was murdered by a police officer.",
        "The march was called for March.",  # months are not towns
        "Protests spread across Jamaica.",  # a country is not the town of its name
        "Reading the report, nobody was surprised.",  # capitalised for opening a sentence
    ],
)
def test_words_that_only_look_like_towns_give_nothing(text: str) -> None:
    assert gazetteer().countries_named(text) == {}
