import shutil
from pathlib import Path

import pytest

from services.recommendation import fingerprint
from services.recommendation.fingerprint import ranking_fingerprint
from services.recommendation.ranking_config import RankerConfig


def test_the_same_ranking_has_the_same_fingerprint_and_other_settings_another() -> None:
    assert ranking_fingerprint(RankerConfig()) == ranking_fingerprint(RankerConfig())
    assert ranking_fingerprint(RankerConfig()) != ranking_fingerprint(RankerConfig(rerank=False))
    assert ranking_fingerprint(RankerConfig()) != ranking_fingerprint(
        RankerConfig(author_bonus=2.0)
    )


def test_a_change_to_the_rankings_code_changes_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "recommendation"
    sources.mkdir()
    for source in Path(fingerprint.__file__).parent.glob("*.py"):
        shutil.copy(source, sources)
    monkeypatch.setattr(fingerprint, "_SOURCES", sources)
    before = ranking_fingerprint(RankerConfig())
    genres = sources / "genres.py"
    genres.write_text(genres.read_text() + "\n# a later rule\n")

    assert ranking_fingerprint(RankerConfig()) != before
