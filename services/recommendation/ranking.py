"""Fusion and rules: the stages' evidence becomes one ranked list, each book with a reason.

The ranking, per article, whose BM25, WordLlama and MiniLM stages read it with the countries
of the towns it names (`places`: "Nablus" brings "Palestinian Territory"):

1. candidates: the top books by BM25 and by WordLlama cosine over the whole catalogue (a
   matrix product over precomputed vectors), plus every book the article names; their
   best `rerank_depth`, MiniLM's own closest few among the books it has read (a matrix
   product over the kept vectors) and the named books go on to MiniLM; once steps 2-3
   have found the leading book, its closest books by MiniLM (of those closest to the
   article) join them and the two steps are made again;
2. features for each candidate, each z-scored over the candidates so no stage's scale
   dominates: BM25, WordLlama cosine, MiniLM cosine, and how close the article is to
   the book's subjects (the centroid of the books filed under each subject, which lifts
   the right shelf for articles that never use the subject's own words);
3. a weighted sum of those, a bonus for a book whose author the article names, a
   penalty for fiction, poetry and children's books in an article that never speaks of
   such writing (`genres`), and closeness to the article's leading books (those it
   names, else the first pass's best), in meaning and in the subjects the shop filed
   them under: the books beside *the* book on its shelf are the next best readings;
4. books the article names go first (by title or ISBN, or the book that fits it best of an
   author it credits with a work or names in full on that book's subject), pins before
   everything, bans never;
   one edition per work (in-stock first), but every edition of the books the article names
   and of the first book beyond them; an in-stock book gets a small lift over an equally
   good out-of-stock one.

The subject centroids and rarities are made in `subjects`, the edition rules of step 4
applied in `editions`, and each book's reason worded in `reasons`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import numpy as np

from services.recommendation.arrays import resized, top, unit, zscores
from services.recommendation.books import IndexedBook
from services.recommendation.cleaning import CleanArticle, clean_article
from services.recommendation.editions import one_edition_each
from services.recommendation.genres import is_imaginative, speaks_of_literature
from services.recommendation.lexical import LexicalIndex, book_document
from services.recommendation.mentions import Mention, MentionIndex, MentionKind
from services.recommendation.places import gazetteer
from services.recommendation.ranking_config import RankerConfig
from services.recommendation.reasons import PINNED_REASON, reason_for, telling_terms
from services.recommendation.semantic import (
    Embedder,
    minilm_article_embedder,
    minilm_embedder,
    single_threaded_blas,
    wordllama_embedder,
)
from services.recommendation.subjects import subject_centroids, subject_weights
from services.recommendation.vectors import KeptVectors

_NAMED = (MentionKind.TITLE, MentionKind.ISBN)
# WordLlama dimensions the whole catalogue is first scored on (of 256)
_WORD_HEAD = 128
# about 128 word pieces, the window MiniLM reads (longer input is cut)
_CHUNK_WORDS = 100
# the share of the catalogue added or removed since the subject centroids were made that has
# them made again (see `Ranker._make_shelves`)
_SHELVES_DRIFT = 0.1


@dataclass(frozen=True)
class Recommendation:
    isbn13: str
    score: float
    reason: str


class Ranker:
    """The recommendation index over a catalogue, kept current one book at a time.

    Not thread-safe for writes: one writer (the event handler), or a lock around it.
    """

    def __init__(
        self,
        books: Iterable[IndexedBook] = (),
        *,
        config: RankerConfig | None = None,
        word_model: Embedder | None = None,
        rerank_model: Embedder | None = None,
        article_model: Embedder | None = None,
    ) -> None:
        """`article_model` reads articles in `rerank_model`'s space: by default the int8
        twin of the packaged MiniLM, or `rerank_model` itself when one is given."""
        self.config = config or RankerConfig()
        single_threaded_blas()
        self._word_model = word_model or wordllama_embedder()
        # loaded with the models, not by the first article ranked
        self._towns = gazetteer()
        # MiniLM vectors of recent articles' pieces: an article is ranked again whenever
        # the index changes (a stock change is enough), and its text rarely has
        self._article_pieces: OrderedDict[str, np.ndarray] = OrderedDict()
        self._rerank_model: Embedder | None = None
        self._article_model: Embedder | None = None
        if self.config.rerank:
            self._rerank_model = rerank_model or minilm_embedder()
            default_reader = minilm_article_embedder() if rerank_model is None else rerank_model
            self._article_model = article_model or default_reader
        self._books: list[IndexedBook | None] = []
        self._positions: dict[str, int] = {}
        self._rerank_vectors = KeptVectors(self._rerank_dimensions)
        self.build(books)

    # -- index -------------------------------------------------------------------------

    def build(self, books: Iterable[IndexedBook]) -> None:
        """Index `books` from scratch (the last record of an ISBN wins); MiniLM vectors of
        books indexed before with the same text are kept, as they are the costly part."""
        unique = list({book.isbn13: book for book in books}.values())
        kept = self._unchanged_rerank_vectors(unique)
        self._books = list(unique)
        self._positions = {book.isbn13: i for i, book in enumerate(unique)}
        self._available = np.array([b.available for b in unique], dtype=np.int64)
        self._alive = np.ones(len(unique), dtype=bool)
        self._word_vectors = self._word_model.embed([_embedding_text(b) for b in unique])
        self._word_head = np.ascontiguousarray(self._word_vectors[:, :_WORD_HEAD])
        # room for the books added before the next compaction, so adding one copies nothing
        self._grow(len(unique) + self.config.compact_after)
        self._lexical = LexicalIndex([book_document(b) for b in unique])
        self._mentions = MentionIndex()
        for position, book in enumerate(unique):
            self._mentions.add(position, book)
        self._rerank_vectors = KeptVectors(self._rerank_dimensions)
        if kept:
            self._rerank_vectors.add(list(kept), np.array(list(kept.values())))
        if self._rerank_model is not None and len(unique) <= self.config.eager_rerank_limit:
            self._ensure_rerank_vectors(range(len(unique)))
        self._make_shelves()

    @property
    def _rerank_dimensions(self) -> int:
        return self._rerank_model.dimensions if self._rerank_model else 0

    def _unchanged_rerank_vectors(self, books: list[IndexedBook]) -> dict[int, np.ndarray]:
        """The kept MiniLM vectors of `books` whose text is as indexed now, by new position."""
        kept: dict[int, np.ndarray] = {}
        for position, book in enumerate(books):
            before = self._positions.get(book.isbn13)
            if before is None or before not in self._rerank_vectors:
                continue
            indexed = self._books[before]
            if indexed is not None and indexed.text_fingerprint() == book.text_fingerprint():
                kept[position] = self._rerank_vectors.get([before])[0]
        return kept

    def _make_shelves(self) -> None:
        """The subject centroids and rarities, from the books indexed now.

        A coarse, shelf-level signal that one changed book hardly moves: made at each build
        and again once the catalogue has grown or shrunk by a tenth since. Made at build
        only, a shop whose catalogue arrived after its index was built (its first start)
        ranked with no subjects at all until a restart.
        """
        self._centroids = subject_centroids(
            self._books,
            self._word_vectors,
            self._rerank_vectors if self._rerank_model is not None else None,
            self._ensure_rerank_vectors,
            min_books=self.config.subject_min_books,
            sample=self.config.subject_sample,
        )
        self._subject_weights = subject_weights(self.books())
        self._shelved = len(self._positions)

    def _keep_shelves(self) -> None:
        if abs(len(self._positions) - self._shelved) > self._shelved * _SHELVES_DRIFT:
            self._make_shelves()

    def upsert(self, book: IndexedBook) -> None:
        """Add or change one book. Price or stock changes re-index nothing."""
        position = self._positions.get(book.isbn13)
        if position is not None:
            current = self._books[position]
            assert current is not None
            if current.text_fingerprint() == book.text_fingerprint():
                self._books[position] = book
                self._available[position] = book.available
                return
            self.remove(book.isbn13)
        if self._lexical.overlay_size >= self._compact_at():
            self.build([*self.books(), book])
            return
        position = len(self._books)
        self._grow(position + 1)
        self._books.append(book)
        self._positions[book.isbn13] = position
        self._available[position] = book.available
        self._alive[position] = True
        self._word_vectors[position] = self._word_model.embed([_embedding_text(book)])[0]
        self._word_head[position] = self._word_vectors[position, :_WORD_HEAD]
        self._lexical.set_overlay(position, book_document(book))
        self._mentions.add(position, book)
        if len(self._positions) <= self.config.eager_rerank_limit:
            # so MiniLM can put it forward for articles that never use its words
            self._ensure_rerank_vectors([position])
        self._keep_shelves()

    def _compact_at(self) -> int:
        """How many books the lexical overlay holds before a rebuild: `compact_after`, or
        fewer while the built index is smaller than that. The overlay is scored with the
        built index's word rarities, which say little of a catalogue mostly added since
        (a shop's first start builds before its catalogue arrives)."""
        built = self._lexical.size - self._lexical.overlay_size
        return min(self.config.compact_after, max(built, 1))

    def remove(self, isbn13: str) -> None:
        """Forget a book (withdrawn from sale); unknown ISBNs are ignored."""
        position = self._positions.pop(isbn13, None)
        if position is None:
            return
        book = self._books[position]
        assert book is not None
        self._books[position] = None
        self._alive[position] = False
        self._mentions.remove(position)
        self._rerank_vectors.discard(position)
        self._keep_shelves()

    def books(self) -> list[IndexedBook]:
        return [book for book in self._books if book is not None]

    def __len__(self) -> int:
        return len(self._positions)

    def get(self, isbn13: str) -> IndexedBook | None:
        position = self._positions.get(isbn13)
        return None if position is None else self._books[position]

    # -- ranking -----------------------------------------------------------------------

    def recommend(
        self,
        article: str | CleanArticle,
        *,
        k: int = 10,
        pins: Sequence[str] = (),
        bans: Sequence[str] = (),
    ) -> list[Recommendation]:
        """The `k` best books for an article (text or HTML), each with a reason.

        `pins` (ISBNs, in the editor's order) come first; `bans` never appear.
        """
        clean = clean_article(article) if isinstance(article, str) else article
        query = clean.full_text
        banned = {self._positions[i] for i in bans if i in self._positions}
        pinned = [self._positions[i] for i in dict.fromkeys(pins) if i in self._positions]
        pinned = [p for p in pinned if p not in banned]
        if not query.strip() or not self._positions:
            return [self._pinned(p) for p in pinned][:k]

        towns = self._towns.countries_named(query)
        # BM25, WordLlama and MiniLM read the countries of the towns named too
        countries = list(dict.fromkeys(towns.values()))
        reading = None
        if self._rerank_model is not None:
            # MiniLM reads the article on another thread while the cheap stages run:
            # onnxruntime and numpy release the GIL, so on two cores the two overlap
            reading = _article_reader().submit(self._article_vector, clean, countries)
        mentions = self._mentions.find(query)
        literary = speaks_of_literature(query)
        read = " ".join([query, *countries])
        n = len(self._books)
        usable = self._alive[:n].copy()
        usable[list(banned)] = False
        lexical = self._lexical.scores(read, n)
        word_query = self._word_model.embed([read])[0]
        candidates = self._cheap_candidates(lexical, word_query, usable, mentions)
        # WordLlama cosine, exact, for the candidates only
        word = np.zeros(n, dtype=np.float32)
        word[candidates] = self._word_vectors[candidates] @ word_query
        article_vector = reading.result() if reading is not None else None
        if article_vector is not None:
            semantic = self._known_rerank_scores(article_vector, n)
            candidates = self._shortlist(candidates, lexical, word, semantic, usable, mentions)
            word[candidates] = self._word_vectors[candidates] @ word_query
        fused, named, affinity = self._first_pass(
            candidates, lexical, word, word_query, article_vector, mentions, literary=literary
        )
        if article_vector is not None:
            beside = self._beside_lead(candidates, fused, named, semantic, usable)
            if len(beside):
                candidates = np.concatenate([candidates, beside])
                word[beside] = self._word_vectors[beside] @ word_query
                fused, named, affinity = self._first_pass(
                    candidates,
                    lexical,
                    word,
                    word_query,
                    article_vector,
                    mentions,
                    literary=literary,
                )
        fused += self.config.neighbour_weight * self._neighbour_scores(candidates, fused, named)
        order = sorted(range(len(candidates)), key=lambda i: (not named[i], -fused[i]))
        ranked = [int(candidates[i]) for i in order]
        chosen = one_edition_each(
            ranked,
            pinned,
            k,
            self._books,
            self._available,
            named=frozenset(candidates[named].tolist()),
        )
        scores = {int(candidates[i]): float(fused[i]) for i in range(len(candidates))}
        ranked_books = {p: self._live(p) for p in chosen if p not in pinned}
        telling = telling_terms(
            ranked_books,
            self._article_terms(query, towns),
            self._lexical,
            self._word_model,
            self._word_vectors,
        )
        out = []
        for position in chosen:
            if position in pinned:
                out.append(self._pinned(position))
                continue
            book = ranked_books[position]
            reason = reason_for(book, mentions.get(position), telling[position], affinity)
            out.append(Recommendation(book.isbn13, round(scores[position], 4), reason))
        return out

    def _article_terms(self, query: str, towns: dict[str, str]) -> dict[str, str]:
        """The article's stems and the words to show for them; a country the article
        never names shows as the town it names there ("Nablus, Palestinian Territory")."""
        terms = self._lexical.analyser.stems_to_words(query)
        for town, country in towns.items():
            for stem in self._lexical.analyser.stems_to_words(country):
                terms.setdefault(stem, f"{town}, {country}")
        return terms

    def _first_pass(
        self,
        candidates: np.ndarray,
        lexical: np.ndarray,
        word: np.ndarray,
        word_query: np.ndarray,
        article_vector: np.ndarray | None,
        mentions: dict[int, Mention],
        *,
        literary: bool,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """The candidates' fused scores before the neighbours, which books the article
        names, and the article's closeness to each subject."""
        features = {
            "lexical": lexical[candidates],
            "word": word[candidates],
        }
        affinity = self._subject_affinity(article_vector, word_query, features, candidates)
        features["subject"] = self._book_subject_scores(candidates, affinity)
        fused = self._fuse(features)
        named = np.array(
            [int(p) in mentions and mentions[int(p)].kind in _NAMED for p in candidates]
        )
        authors_best = self._authors_best(candidates, fused, mentions)
        fused += self._author_bonuses(candidates, mentions, authors_best)
        # "Chomsky's book on...", or his name in an article on the book's subject: the
        # author's book that fits the article is the one meant
        on_topic = set(np.argsort(-fused)[: self.config.author_on_topic].tolist())
        for i in authors_best.values():
            named[i] |= mentions[int(candidates[i])].credited or i in on_topic
        if not literary:
            fused -= self._imaginative_penalties(candidates, mentions)
        # before the neighbours: the leading book of two equally good ones is the in-stock one
        fused += self.config.in_stock_bonus * (self._available[candidates] > 0)
        return fused, named, affinity

    def _beside_lead(
        self,
        candidates: np.ndarray,
        fused: np.ndarray,
        named: np.ndarray,
        semantic: np.ndarray,
        usable: np.ndarray,
    ) -> np.ndarray:
        """The books closest to the leading ones, by MiniLM, that are not candidates yet.

        The neighbours score books beside the leading ones, but only among candidates:
        a book on the lead's shelf that the article's own words never reached was left
        out. They are sought among MiniLM's closest books to the article, so the cost is
        a product over `lead_pool` kept vectors, not over every kept one.
        """
        outside = usable.copy()
        outside[candidates] = False
        pool = top(np.where(outside, semantic, -np.inf), self.config.lead_pool)
        if len(pool) == 0:
            return pool
        lead = self._lead(fused, named)
        vector = unit(self._candidate_vectors(candidates[lead]).mean(axis=0))
        closeness = self._rerank_vectors.get(pool.tolist()) @ vector
        return pool[np.argsort(-closeness, kind="stable")[: self.config.lead_neighbours]]

    def _cheap_candidates(
        self,
        lexical: np.ndarray,
        word_query: np.ndarray,
        usable: np.ndarray,
        mentions: dict[int, Mention],
    ) -> np.ndarray:
        """The top books by BM25 and by WordLlama, and the books the article names."""
        per_stage = self.config.candidates_per_stage
        picked = [
            top(np.where(usable, lexical, -np.inf), per_stage),
            self._word_top(word_query, usable, per_stage),
            np.array([p for p in mentions if usable[p]], dtype=np.int64),
        ]
        return np.unique(np.concatenate(picked))

    def _word_top(self, word_query: np.ndarray, usable: np.ndarray, count: int) -> np.ndarray:
        """The `count` books closest to the article by WordLlama cosine.

        The whole catalogue is scored on the vectors' first dimensions only (WordLlama is
        trained so that they are a smaller model of their own): that reads half the
        memory, and the product is bound by memory. The best of those are then scored
        on every dimension.
        """
        n = len(usable)
        head = self._word_head[:n] @ word_query[:_WORD_HEAD]
        rough = top(np.where(usable, head, -np.inf), count * self.config.word_prefilter)
        exact = self._word_vectors[rough] @ word_query
        return rough[np.argsort(-exact, kind="stable")[:count]]

    def _authors_best(
        self, candidates: np.ndarray, fused: np.ndarray, mentions: dict[int, Mention]
    ) -> dict[str, int]:
        """Each named author's book that fits the article best (most likely the one
        meant), as an index into the candidates."""
        best: dict[str, int] = {}
        for i, position in enumerate(candidates):
            mention = mentions.get(int(position))
            if mention is None or mention.kind != MentionKind.AUTHOR:
                continue
            leader = best.get(mention.evidence)
            if leader is None or fused[i] > fused[leader]:
                best[mention.evidence] = i
        return best

    def _author_bonuses(
        self, candidates: np.ndarray, mentions: dict[int, Mention], authors_best: dict[str, int]
    ) -> np.ndarray:
        """The bonus for books whose author the article names: in full for the author's
        best book, half for the others."""
        bonus = np.array(
            [
                int(p) in mentions and mentions[int(p)].kind == MentionKind.AUTHOR
                for p in candidates
            ],
            dtype=np.float64,
        )
        bonus *= self.config.author_bonus / 2
        bonus[list(authors_best.values())] = self.config.author_bonus
        return bonus

    def _imaginative_penalties(
        self, candidates: np.ndarray, mentions: dict[int, Mention]
    ) -> np.ndarray:
        """The penalty for imaginative books in an article that never speaks of such
        writing; a book the article names, or whose author it names, is meant and keeps
        its place."""
        return self.config.imaginative_penalty * np.array(
            [int(p) not in mentions and is_imaginative(self._live(int(p))) for p in candidates],
            dtype=np.float64,
        )

    def _shortlist(
        self,
        cheap: np.ndarray,
        lexical: np.ndarray,
        word: np.ndarray,
        semantic: np.ndarray,
        usable: np.ndarray,
        mentions: dict[int, Mention],
    ) -> np.ndarray:
        """The candidates worth MiniLM's time: the cheap stages' best, MiniLM's own best
        among books it has read already, and named books.

        MiniLM vectors of books are computed on first need and kept, so this bounds the
        cost of an article whose candidates were never seen before. The books that may
        need a new vector (the cheap stages' best) are chosen from the cheap stages alone,
        never from the kept vectors, so an article ranked again needs no new vector
        however many books other articles have had read in between.
        """
        best = cheap
        if len(cheap) > self.config.rerank_depth:
            score = self.config.lexical_weight * zscores(lexical[cheap])
            score += self.config.word_weight * zscores(word[cheap])
            best = cheap[np.argsort(-score, kind="stable")[: self.config.rerank_depth]]
        closest = top(np.where(usable, semantic, -np.inf), self.config.semantic_shortlist)
        named = [p for p in cheap.tolist() if p in mentions]
        return np.unique(np.concatenate([best, closest, np.array(named, dtype=np.int64)]))

    def _article_vector(self, clean: CleanArticle, countries: list[str]) -> np.ndarray:
        """The article's MiniLM vector: the mean of its first pieces'."""
        assert self._article_model is not None
        pieces = _chunks(clean)[: self.config.article_pieces]
        if countries:
            pieces[0] = ". ".join([*countries, pieces[0]])
        missing = [p for p in dict.fromkeys(pieces) if p not in self._article_pieces]
        for piece, vector in zip(missing, self._article_model.embed(missing), strict=True):
            self._article_pieces[piece] = vector
        for piece in pieces:
            self._article_pieces.move_to_end(piece)
        while len(self._article_pieces) > self.config.article_pieces_kept:
            self._article_pieces.popitem(last=False)
        return unit(np.mean([self._article_pieces[p] for p in pieces], axis=0))

    def forget_articles(self) -> None:
        """Drop the kept article vectors, so the next ranking of any article reads it anew."""
        self._article_pieces.clear()

    def _known_rerank_scores(self, article_vector: np.ndarray, n: int) -> np.ndarray:
        """MiniLM cosine for every book whose vector is already made (-inf for the rest).

        A matrix product over kept vectors, no model run: it finds the books an article
        is about in other words than theirs, which BM25 and WordLlama both miss.
        """
        return self._rerank_vectors.scores(article_vector, n)

    def _subject_affinity(
        self,
        article_vector: np.ndarray | None,
        word_query: np.ndarray,
        features: dict[str, np.ndarray],
        candidates: np.ndarray,
    ) -> dict[str, float]:
        """Fills the MiniLM features and returns the article's closeness to each subject."""
        subjects, word_centroids, rerank_centroids = self._centroids
        if article_vector is None:
            closeness = word_centroids @ word_query if subjects else np.zeros(0)
            return dict(zip(subjects, closeness.tolist(), strict=True))
        features["rerank"] = self._candidate_vectors(candidates) @ article_vector
        closeness = rerank_centroids @ article_vector if subjects else np.zeros(0)
        return dict(zip(subjects, closeness.tolist(), strict=True))

    def _book_subject_scores(
        self, candidates: np.ndarray, affinity: dict[str, float]
    ) -> np.ndarray:
        scores = np.zeros(len(candidates), dtype=np.float32)
        for i, position in enumerate(candidates):
            book = self._books[int(position)]
            assert book is not None
            values = [affinity[s] for s in book.subjects if s in affinity]
            # a book is as close as its closest shelf: a second subject it is also filed
            # under (biography, history) should not pull it away from the article's
            scores[i] = max(values) if values else 0.0
        return scores

    def _neighbour_scores(
        self, candidates: np.ndarray, fused: np.ndarray, named: np.ndarray
    ) -> np.ndarray:
        """How like the article's leading books each candidate is (z-scored).

        The leading books are those it names, else the first pass's best: books on the
        same shelf as *the* book for an article are the next best readings. Likeness is
        closeness in meaning and the subjects shared with the leading books, the subjects
        counting for more (`RankerConfig.neighbour_meaning_share`): the model reads two
        books on one struggle as alike whatever their angle, the shop's subjects tell the
        history from the novel and the theory.
        """
        vectors = self._candidate_vectors(candidates)
        lead = self._lead(fused, named)
        meaning = vectors @ unit(vectors[lead].mean(axis=0))
        shelf = self._shared_subjects(candidates, lead)
        for similarity in (meaning, shelf):
            similarity[lead] = similarity.max()
        share = self.config.neighbour_meaning_share
        return zscores(share * zscores(meaning) + (1 - share) * zscores(shelf))

    def _lead(self, fused: np.ndarray, named: np.ndarray) -> np.ndarray:
        """The article's leading books: those it names, else the first pass's best."""
        lead = np.flatnonzero(named)
        if len(lead) == 0:
            lead = np.argsort(-fused)[: self.config.neighbour_seeds]
        return lead

    def _shared_subjects(self, candidates: np.ndarray, lead: np.ndarray) -> np.ndarray:
        """Each candidate's subjects against the leading books': a Jaccard index in which
        a subject counts by its rarity (sharing "biography" says less than "palestine")."""
        subjects = [set(self._live(int(p)).subjects) for p in candidates]
        lead_subjects = set().union(*(subjects[i] for i in lead))
        rarest = math.log(max(len(self._positions), 2))

        def weight(names: set[str]) -> float:
            return sum(self._subject_weights.get(s, rarest) for s in names)

        out = np.zeros(len(candidates), dtype=np.float64)
        for i, own in enumerate(subjects):
            either = weight(own | lead_subjects)
            out[i] = weight(own & lead_subjects) / either if either > 0 else 0.0
        return out

    def _candidate_vectors(self, candidates: np.ndarray) -> np.ndarray:
        if self._rerank_model is None:
            return self._word_vectors[candidates]
        positions = candidates.tolist()
        self._ensure_rerank_vectors(positions)
        return self._rerank_vectors.get(positions)

    def _fuse(self, features: dict[str, np.ndarray]) -> np.ndarray:
        weights = {
            "lexical": self.config.lexical_weight,
            "word": self.config.word_weight,
            "rerank": self.config.rerank_weight,
            "subject": self.config.subject_weight,
        }
        fused = np.zeros(len(features["lexical"]), dtype=np.float64)
        for name, values in features.items():
            fused += weights[name] * zscores(values)
        return fused

    def _live(self, position: int) -> IndexedBook:
        book = self._books[position]
        assert book is not None
        return book

    def _pinned(self, position: int) -> Recommendation:
        return Recommendation(self._live(position).isbn13, 0.0, PINNED_REASON)

    # -- semantic vectors --------------------------------------------------------------

    def _ensure_rerank_vectors(self, positions: Iterable[int]) -> None:
        if self._rerank_model is None:
            return
        missing = [p for p in positions if p not in self._rerank_vectors]
        if not missing:
            return
        books = [self._books[p] for p in missing]
        vectors = self._rerank_model.embed([_embedding_text(b) for b in books if b is not None])
        self._rerank_vectors.add(missing, vectors)

    def _grow(self, rows: int) -> None:
        capacity = len(self._alive)
        if rows <= capacity:
            return
        capacity = max(rows, len(self._books) + self.config.compact_after, 16)
        self._available = resized(self._available, capacity)
        self._alive = resized(self._alive, capacity)
        self._word_vectors = resized(self._word_vectors, capacity)
        self._word_head = resized(self._word_head, capacity)


@cache
def _article_reader() -> ThreadPoolExecutor:
    """The process's one thread for reading articles with MiniLM (rankings take turns)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="minilm-article")


def _embedding_text(book: IndexedBook) -> str:
    """Books are embedded as BM25 reads them: authors' names help articles that name them."""
    return book_document(book)


def _chunks(clean: CleanArticle) -> list[str]:
    """The article in pieces that fill MiniLM's window, headline first.

    Pieces run on across paragraph breaks: cut at a paragraph's end, the first piece
    often left much of the window unread (a short article's last paragraph, the second
    half of a long lead), and MiniLM ranked worse on articles that never use their
    subject's own words (nDCG@5 0.865 vs 0.898 on 22 such articles, the same cost).
    """
    words = clean.full_text.split()
    pieces = [" ".join(words[i : i + _CHUNK_WORDS]) for i in range(0, len(words), _CHUNK_WORDS)]
    return pieces or [clean.full_text]
