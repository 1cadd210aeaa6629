"""Wall time of `bookshop recommend batch` over 120 articles and 400 books, model load included.

    uv run python benchmarks/recommendation_batch.py

The 400 books are the demo catalogue plus variants of it (new ISBNs, titles and authors
recombined); the 120 articles are the judged public and extra articles plus articles made by
mixing their paragraphs. Target: under 60 s on the 2-core development machine.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"


def isbn13(n: int) -> str:
    first12 = f"979{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def books(count: int, rng: random.Random) -> list[dict[str, object]]:
    real = [json.loads(line) for line in (DATA / "books.jsonl").read_text().splitlines() if line]
    out = list(real)
    while len(out) < count:
        a, b = rng.sample(real, 2)
        out.append(
            {
                **a,
                "isbn13": isbn13(len(out)),
                "title": f"{a['title']} and {b['title']}",
                "authors": b["authors"],
            }
        )
    return out[:count]


def articles(count: int, rng: random.Random) -> list[dict[str, object]]:
    sources = [
        json.loads(line)
        for name in ("articles-public.jsonl", "articles-extra.jsonl")
        for line in (DATA / name).read_text().splitlines()
        if line
    ]
    out = list(sources)
    while len(out) < count:
        a, b = rng.sample(sources, 2)
        out.append(
            {
                "id": f"mix{len(out):03d}",
                "headline": a["headline"],
                "paragraphs": a["paragraphs"][:3] + b["paragraphs"][:3],
                "gold": [],
            }
        )
    return out[:count]


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        books_path, articles_path = Path(folder, "books.jsonl"), Path(folder, "articles.jsonl")
        books_path.write_text("".join(json.dumps(b) + "\n" for b in books(400, rng)))
        articles_path.write_text("".join(json.dumps(a) + "\n" for a in articles(120, rng)))
        command = [sys.executable, "-m", "services.cli", "recommend", "batch"]
        command += ["--books", str(books_path), "--articles", str(articles_path), "--k", "10"]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - started
    lines = result.stdout.splitlines()
    print(f"batch: {len(lines)} articles over 400 books in {elapsed:.1f} s (target < 60 s)")


if __name__ == "__main__":
    main()
