import numpy as np

from services.recommendation.vectors import KeptVectors


def unit_rows(*rows: list[float]) -> np.ndarray:
    matrix = np.array(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_scores_every_kept_position_and_minus_infinity_elsewhere() -> None:
    kept = KeptVectors(2)
    kept.add([4, 1], unit_rows([1, 0], [0, 1]))

    scores = kept.scores(np.array([1, 0], dtype=np.float32), 6)

    assert scores.tolist() == [-np.inf, 0.0, -np.inf, -np.inf, 1.0, -np.inf]
    assert np.array_equal(kept.get([1, 4]), unit_rows([0, 1], [1, 0]))
    assert 4 in kept and 0 not in kept and len(kept) == 2


def test_keeps_every_vector_as_it_grows_past_its_capacity() -> None:
    kept = KeptVectors(3)
    vectors = np.random.default_rng(1).standard_normal((600, 3)).astype(np.float32)
    for start in range(0, 600, 7):
        kept.add(list(range(start, min(start + 7, 600))), vectors[start : start + 7])

    assert len(kept) == 600
    assert np.array_equal(kept.get([0, 299, 599]), vectors[[0, 299, 599]])
    assert np.allclose(kept.scores(vectors[5], 600), vectors @ vectors[5])


def test_a_discarded_position_is_no_longer_kept() -> None:
    kept = KeptVectors(2)
    kept.add([0, 1], unit_rows([1, 0], [0, 1]))

    kept.discard(0)

    assert 0 not in kept and len(kept) == 1
    assert kept.scores(np.array([1, 0], dtype=np.float32), 2).tolist() == [-np.inf, 0.0]
