"""The worker's tasks: processing a document, the sweep, retention and the leak scan (the last three run on
Celery beat, see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from celery import shared_task

from cleanroom.routing import region_scope, region_stores
from cleanroom.tenants.models import Tenant
from ingestion.fairness import document_fair_pick
from ingestion.leakscan import leakscan_run
from ingestion.models import Document
from ingestion.pipeline import document_process
from ingestion.retention import retention_purge
from ingestion.steps import PROCESS_DOCUMENT, TRANSIENT_ERRORS
from ingestion.sweep import documents_requeue_stuck

logger = logging.getLogger(__name__)


@contextmanager
def document_scope(document_id: str) -> Iterator[str | None]:
    """For a task that has only a document id: enter the scope of the store holding it (None: in no store)."""
    stores = region_stores()
    region = None
    if len(set(stores.values())) > 1:
        region = next(
            (name for name, alias in stores.items() if Document.objects.using(alias).filter(pk=document_id).exists()),
            None,
        )
    with region_scope(region):
        yield region


@shared_task(
    name=PROCESS_DOCUMENT,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
)
def process_document(document_id: str) -> None:
    """Takes an id, not a document: the row is re-read and claimed, so a redelivered task does nothing. The batch
    starts with the document whose tenant's turn it is (ingestion/fairness.py), not necessarily this one."""
    with document_scope(document_id):  # the document lives in its tenant's region store
        turn = document_fair_pick(document_id)
        if document_process(document_id=turn) or turn == document_id:
            return
        # Another worker took that one first (or it failed): this message's own document, if still queued.
        document_process(document_id=document_id)


@shared_task(name="ingestion.sweep_stuck", ignore_result=True, autoretry_for=TRANSIENT_ERRORS, max_retries=3)
def sweep_stuck() -> dict[str, int]:
    totals = {"requeued": 0, "failed": 0, "reenqueued": 0}
    for region in region_stores():  # every store holds documents of its own tenants
        with region_scope(region):
            result = documents_requeue_stuck()
        totals["requeued"] += len(result.requeued)
        totals["failed"] += len(result.failed)
        totals["reenqueued"] += len(result.reenqueued)
    return totals


# The names keep their historical "vault." prefix: a beat schedule file of a running deployment refers to them.
@shared_task(name="vault.retention_purge", ignore_result=True)
def retention_purge_task() -> None:
    purged = retention_purge()
    if purged:
        logger.info("retention purged %d document(s)", len(purged))


@shared_task(name="vault.leakscan_all", ignore_result=True)
def leakscan_all_task() -> None:
    # Every tenant: their documents may sit in different region stores, so no cross-store subquery.
    for tenant in Tenant.objects.all():
        leaks = leakscan_run(tenant=tenant)
        if leaks:  # the audit entry holds the details; the log only says where to look
            logger.warning(
                "leak scan of tenant %s found %d possible leak(s); see the audit trail", tenant.slug, len(leaks)
            )
