"""Retrieval's periodic work (Celery beat, see CELERY_BEAT_SCHEDULE): conversations past their retention."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="retrieval.conversation_retention_purge", ignore_result=True)
def conversation_retention_purge_task() -> None:
    from retrieval.conversations import conversation_retention_purge

    purged = conversation_retention_purge()
    if purged:
        logger.info("retention purged %d conversation(s) and message(s)", purged)
