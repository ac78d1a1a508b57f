"""A document's way through the steps: the step log, failure, and the hand-off to the workers.

Shared by upload, the pipeline and the sweep; it imports none of them (the task is sent by name)."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, models, router, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cleanroom.audit.services import audit_record
from ingestion.models import Document
from ingestion.quarantine import discard_raw

logger = logging.getLogger(__name__)
Status = Document.Status

PROCESS_DOCUMENT = "ingestion.process_document"  # the task in ingestion/tasks.py

# Faults that pass on their own (a database restart, a broker blip): retried with exponential backoff. Anything
# else about a document is permanent and recorded on the document at once (document_fail).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    BrokerOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


def store_alias() -> str:
    """The database holding this tenant's documents (its region store; `default` in a single-region setup)."""
    return router.db_for_write(Document)


def steps_append(status: str, *, note: str = "") -> RawSQL:
    """`steps || [{status, at, attempt}]` for an UPDATE, so that many documents advance in one statement."""
    entry: dict[str, Any] = {"status": status, "at": timezone.now().isoformat()}
    if note:
        entry["note"] = note
    return RawSQL(
        "steps || jsonb_build_array(%s::jsonb || jsonb_build_object('attempt', attempts))",
        [json.dumps(entry)],
        output_field=models.JSONField(),
    )


def document_fail(
    document: Document,
    token: uuid.UUID | None,
    code: str,
    message: str,
    *,
    statuses: tuple[str, ...] = Document.IN_PROGRESS,
) -> bool:
    """Mark the document failed, if this run still holds it; its raw bytes go once the failure is recorded."""
    with transaction.atomic(using=store_alias()):
        held = Document.objects.filter(pk=document.pk, status__in=statuses)
        if token is not None:
            held = held.filter(claim_token=token)
        updated = held.update(
            status=Status.FAILED,
            claim_token=None,
            error_code=code,
            error_message=message,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            step_started_at=timezone.now(),
            steps=steps_append(Status.FAILED, note=code),
        )
        if updated:
            audit_record(
                tenant=document.tenant, actor=None, action="document.failed", target=document, details={"code": code}
            )
    if updated:
        discard_raw(document.pk)
    return bool(updated)


def document_enqueue(*, document_id: uuid.UUID | str) -> None:
    """Hand a document to the workers. A broker that is briefly gone must not fail the upload that already
    committed: the document stays queued and the periodic sweep enqueues it again."""
    try:
        current_app.send_task(PROCESS_DOCUMENT, args=[str(document_id)])
    except Exception as exc:  # kombu/redis raise several unrelated types for "broker unreachable"
        logger.warning("could not enqueue document %s (%s); the sweep will retry", document_id, type(exc).__name__)


@contextmanager
def claims_heartbeat(ids: list[uuid.UUID], token: uuid.UUID) -> Iterator[None]:
    """While the block runs, refresh step_started_at of the documents this run holds every
    INGEST_HEARTBEAT_SECONDS, so that the sweep re-queues a document within minutes of its worker dying but never
    takes one from a worker that is merely slow. A run that was swept has lost its claim token and refreshes
    nothing: the new holder's claim stands."""
    alias = store_alias()  # the thread has no region scope of its own
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.INGEST_HEARTBEAT_SECONDS):
                try:
                    with transaction.atomic(using=alias):
                        # Rows the run itself has locked (it is storing them) are alive by definition: skip, never wait.
                        held = list(
                            Document.objects.using(alias)
                            .select_for_update(skip_locked=True)
                            .filter(pk__in=ids, claim_token=token, status__in=Document.IN_PROGRESS)
                            .values_list("pk", flat=True)
                        )
                        Document.objects.using(alias).filter(pk__in=held).update(step_started_at=timezone.now())
                except TRANSIENT_ERRORS as exc:  # the database is back by the next beat, or the sweep decides
                    logger.warning("heartbeat of %d documents failed (%s)", len(ids), type(exc).__name__)
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=beat, name="claims-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
