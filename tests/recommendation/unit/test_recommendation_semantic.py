import json
import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from services.recommendation.semantic import (
    MiniLMEmbedder,
    WordLlamaEmbedder,
    minilm_article_embedder,
    minilm_embedder,
)

DATA = Path(__file__).parents[2] / "data"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


TEXTS = [
    "Nurses and ambulance workers strike over pay",
    "A history of trade unions and workers' strikes",
    "Quick vegetarian recipes for a weeknight dinner",
]


@pytest.mark.parametrize("model", [WordLlamaEmbedder, MiniLMEmbedder])
def test_packaged_model_loads_offline_and_embeds_meaningfully(
    no_network: None, model: type
) -> None:
    embedder = model()

    vectors = embedder.embed(TEXTS)

    assert vectors.shape == (3, embedder.dimensions)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.mark.parametrize("make", [minilm_embedder, minilm_article_embedder])
def test_minilm_batches_keep_each_texts_own_vector(make: Callable[[], MiniLMEmbedder]) -> None:
    embedder = make()
    together = embedder.embed([TEXTS[2], TEXTS[0]])
    alone = embedder.embed([TEXTS[0]])

    assert np.allclose(together[1], alone[0], atol=1e-3)


def test_articles_read_with_int8_products_land_beside_the_float32_vectors() -> None:
    exact = minilm_embedder().embed(TEXTS)
    fast = minilm_article_embedder().embed(TEXTS)

    assert np.all(np.sum(exact * fast, axis=1) > 0.99)
    # what ranks a book for an article is unchanged
    assert np.argmax(exact[1:] @ fast[0]) == np.argmax(exact[1:] @ exact[0])


def test_a_long_article_read_with_int8_products_does_not_saturate() -> None:
    # this article's words drove 8-bit weights' products past 16 bits on a CPU without
    # VNNI: 0.966 from the float32 vector, enough to move a judged set's rankings
    lines = (DATA / "articles-extra-2.jsonl").read_text(encoding="utf-8").splitlines()
    article = next(json.loads(line) for line in lines if json.loads(line)["id"] == "m05")
    text = " ".join(article["paragraphs"])

    exact = minilm_embedder().embed([text])[0]
    fast = minilm_article_embedder().embed([text])[0]

    assert exact @ fast > 0.98
