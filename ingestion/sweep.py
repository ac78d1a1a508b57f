"""The sweep: documents whose worker vanished (SIGKILL, out of memory, a lost machine) go back to the queue."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.routing import region_scope, region_stores
from ingestion.models import Document
from ingestion.steps import document_enqueue, document_fail, steps_append, store_alias

logger = logging.getLogger(__name__)
Status = Document.Status


class SweepResult(NamedTuple):
    requeued: list[str]
    failed: list[str]
    reenqueued: list[str]


def documents_requeue_stuck(
    *, older_than: timedelta | None = None, queued_older_than: timedelta | None = None
) -> SweepResult:
    """Re-queue documents in a processing step whose worker has not refreshed them for `older_than` (it died:
    SIGKILL, out of memory, a lost machine; a live one refreshes them, see steps.claims_heartbeat); fail those
    that were already tried INGEST_MAX_ATTEMPTS times, so that a file that kills workers cannot do so forever.
    Documents queued for `queued_older_than` (default: `older_than` when given) get their task sent again (the
    broker may have lost it, or was down at upload); tasks are idempotent, so a duplicate costs one query."""
    limit = older_than if older_than is not None else timedelta(seconds=settings.INGEST_STUCK_AFTER_SECONDS)
    if queued_older_than is None:
        queued_older_than = (
            older_than if older_than is not None else timedelta(seconds=settings.INGEST_RESEND_QUEUED_AFTER_SECONDS)
        )
    cutoff = timezone.now() - limit
    queued_cutoff = timezone.now() - queued_older_than
    with transaction.atomic(using=store_alias()):
        stuck = list(
            Document.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                status__in=Document.IN_PROGRESS, step_started_at__lt=cutoff
            )
        )
        exhausted = [d for d in stuck if d.attempts >= settings.INGEST_MAX_ATTEMPTS]
        retrying = [d for d in stuck if d.attempts < settings.INGEST_MAX_ATTEMPTS]
        retry = [d.pk for d in retrying]
        Document.objects.filter(pk__in=retry).update(
            status=Status.QUEUED,
            claim_token=None,
            step_started_at=timezone.now(),
            updated_at=timezone.now(),
            steps=steps_append(Status.QUEUED, note="re-queued: the worker stopped answering"),
        )
        for document in exhausted:
            document_fail(
                document,
                None,
                "processing_interrupted",
                f"Processing was interrupted {document.attempts} times (a worker stopped while handling this file).",
            )
        for document in retrying:
            audit_record(
                tenant=document.tenant,
                actor=None,
                action="document.requeued",
                target=document,
                details={"attempts": document.attempts},
            )
        waiting = list(
            Document.objects.filter(status=Status.QUEUED, step_started_at__lt=queued_cutoff).values_list(
                "pk", flat=True
            )
        )
        for pk in [*retry, *waiting]:
            transaction.on_commit(partial(document_enqueue, document_id=pk), using=store_alias())
    if retry or exhausted:
        logger.warning("sweep: re-queued %d stuck documents, failed %d", len(retry), len(exhausted))
    return SweepResult(
        requeued=[str(pk) for pk in retry],
        failed=[str(d.pk) for d in exhausted],
        reenqueued=[str(pk) for pk in waiting],
    )


def documents_resend_queued() -> int:
    """Send the task of every queued document again, in every store: at start-up, for documents released by a
    stopping worker (the rest of its batch has no message left) or uploaded while the broker was down. Duplicates
    are harmless: a task whose document is no longer queued does nothing. Stuck documents are swept as usual."""
    sent = 0
    for region in region_stores():
        with region_scope(region):
            result = documents_requeue_stuck(queued_older_than=timedelta(0))
        sent += len(result.requeued) + len(result.reenqueued)
    return sent
