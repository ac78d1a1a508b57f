"""Scale-out: two Celery workers on one Redis queue, as `docker compose up --scale worker=2` runs them, share a bulk
upload; claims make every document indexed exactly once, and both workers take part."""

from __future__ import annotations

import os
import re
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from cleanroom.audit.models import AuditEvent
from cleanroom.celery import worker_command
from ingestion.models import Chunk, Document
from ingestion.tasks import process_document
from ingestion.upload import document_upload
from tests.conftest import make_actor
from tests.integration.conftest import _database_env
from tests.integration.test_pool_child_killed import _start, _stop, _wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DOCUMENTS = 16


def test_two_workers_index_a_bulk_upload_exactly_once(tmp_path):
    queue = f"two-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **_database_env(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CLEANROOM_CELERY_QUEUE": queue,
        "CLEANROOM_WARMUP": "0",
        # Small batches, so that the upload is split between the workers instead of one claiming it all.
        "CLEANROOM_INGEST_BATCH_DOCUMENTS": "2",
        "CLEANROOM_LOG_LEVEL": "INFO",  # the batch lines below
        "C_FORCE_ROOT": "1",
    }
    alice = make_actor("plant-d", "alice")
    documents = [
        document_upload(
            tenant=alice.tenant,
            user=alice.user,
            upload=SimpleUploadedFile(
                f"note-{n}.txt",
                f"Shift note {n}. Boiler {n % 4} pressure was checked at {n % 12 + 1} o'clock; the valve on line "
                f"{n % 3} was greased and the log signed by the supervisor.".encode(),
            ),
            enqueue=False,
        ).document
        for n in range(DOCUMENTS)
    ]
    # Every task is sent before either worker starts: both find a full queue.
    for document in documents:
        process_document.apply_async(args=[str(document.pk)], queue=queue)

    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [
        _start(
            worker_command(pool="solo", hostname=f"w{n}-{queue}@%h", alone=True, queues=[queue]),
            env,
            log,
        )
        for n, log in enumerate(logs, start=1)
    ]
    ids = [d.pk for d in documents]
    try:
        _wait(
            lambda: Document.objects.filter(pk__in=ids, status=Document.Status.INDEXED).count() == DOCUMENTS,
            420,
            "every document to be indexed",
            logs,
        )
    finally:
        for worker in workers:
            _stop(worker)

    for document in Document.objects.filter(pk__in=ids):
        ordinals = sorted(Chunk.objects.filter(document_id=document.pk).values_list("ordinal", flat=True))
        assert ordinals == list(range(document.chunk_count)) and document.chunk_count > 0
        assert [step["status"] for step in document.steps].count("indexed") == 1
        assert document.attempts == 1
    indexed_events = AuditEvent.objects.filter(action="document.indexed", target_id__in=[str(i) for i in ids])
    assert indexed_events.count() == DOCUMENTS
    # Both took part: each worker's log shows batches it indexed.
    indexed_by = [sum(map(int, re.findall(r"claimed, (\d+) indexed", log.read_text()))) for log in logs]
    assert sum(indexed_by) == DOCUMENTS and all(n > 0 for n in indexed_by), indexed_by
