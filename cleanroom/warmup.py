"""Load the models in the background at start-up, so the first question does not pay for it."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)


def warm_up_ingestion() -> None:
    from cleanroom.pii.engine import analyzer_engine
    from ingestion.embeddings import embed

    analyzer_engine()
    embed(["warm up"], kind="query")


def warm_up() -> None:
    from retrieval.llm import ModelUnavailable, answer_backend

    warm_up_ingestion()
    try:
        answer_backend().warm_up()
    except ModelUnavailable as exc:
        logger.warning("answer model not loaded: %s", exc.message)
    logger.info("models loaded")


def warm_up_in_background() -> None:
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
