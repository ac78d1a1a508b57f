from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cleanroom.routing import document_scope, region_scope, region_stores
from ingestion.services import document_process, documents_requeue_stuck

# Faults that pass on their own (a database restart, a broker blip): retried with exponential backoff. Anything
# else about a document is permanent and recorded on the document at once (see ingestion.services).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    BrokerOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
)


@shared_task(
    name="ingestion.process_document",
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
    """Takes an id, not a document: the row is re-read and claimed, so a redelivered task does nothing."""
    with document_scope(document_id):  # the document lives in its tenant's region store
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
