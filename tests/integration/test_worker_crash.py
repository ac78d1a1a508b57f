"""A worker killed with SIGKILL in the middle of a document: after a new worker (with the periodic sweep) comes
back, the document is indexed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from cleanroom.celery import worker_command
from ingestion.models import Chunk, Document
from ingestion.tasks import process_document
from ingestion.upload import document_upload
from tests.conftest import make_actor
from tests.integration.conftest import ROOT, _database_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _large_document() -> bytes:
    """About 200 KB of ordinary prose: Presidio needs many seconds for it, a real window to be killed in."""
    paragraphs = [
        f"Section {i}. The maintenance team inspects pump station {i % 17} every {i % 9 + 2} weeks and records "
        f"pressure, vibration and temperature readings in the log. Deviations above {i % 5 + 3} percent are "
        f"reported to the shift supervisor Meera Krishnan within one hour, and spare seals are ordered when stock "
        f"falls below {i % 4 + 2} units."
        for i in range(700)
    ]
    return "\n\n".join(paragraphs).encode()


def _start_worker(queue: str, log_path: Path, *, beat: bool) -> subprocess.Popen:
    env = {
        **os.environ,
        **_database_env(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CLEANROOM_CELERY_QUEUE": queue,
        "CLEANROOM_STUCK_AFTER_SECONDS": "4",
        "CLEANROOM_SWEEP_INTERVAL_SECONDS": "2",
        "C_FORCE_ROOT": "1",
    }
    command = worker_command(
        pool="solo",
        hostname=f"crash-{uuid.uuid4().hex[:8]}@%h",
        beat=beat,
        beat_schedule=str(log_path.with_suffix(".beat")),
        alone=True,
    )
    with log_path.open("a") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait(predicate, timeout: float, what: str, worker: subprocess.Popen, log_path: Path) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if worker.poll() is not None:
            pytest.fail(f"worker exited while waiting for {what}:\n{log_path.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def test_sigkill_mid_document_ends_indexed_exactly_once(tmp_path):
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "workers.log"
    alice = make_actor("plant-a", "alice")
    outcome = document_upload(
        tenant=alice.tenant,
        user=alice.user,
        upload=SimpleUploadedFile("maintenance.txt", _large_document()),
        enqueue=False,
    )
    document = outcome.document
    process_document.apply_async(args=[str(document.pk)], queue=queue)

    first = _start_worker(queue, log_path, beat=False)
    try:
        in_step = (Document.Status.REDACTING, Document.Status.EMBEDDING)
        _wait(
            lambda: Document.objects.get(pk=document.pk).status in in_step,
            240,
            "the first worker to start processing",
            first,
            log_path,
        )
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    killed_in = Document.objects.get(pk=document.pk).status
    assert killed_in in (Document.Status.REDACTING, Document.Status.EMBEDDING)
    assert not Chunk.objects.filter(document_id=document.pk).exists()

    second = _start_worker(queue, log_path, beat=True)
    try:
        _wait(
            lambda: Document.objects.get(pk=document.pk).status in (Document.Status.INDEXED, Document.Status.FAILED),
            480,
            "the sweep and the second worker to finish the document",
            second,
            log_path,
        )
    finally:
        second.terminate()
        try:
            second.wait(timeout=60)
        except subprocess.TimeoutExpired:
            second.kill()

    document.refresh_from_db()
    assert document.status == Document.Status.INDEXED, (document.error_code, document.error_message)
    ordinals = list(Chunk.objects.filter(document_id=document.pk).values_list("ordinal", flat=True))
    assert len(ordinals) == document.chunk_count > 10
    assert sorted(ordinals) == list(range(document.chunk_count))  # no duplicates, no gaps
    assert document.attempts == 2
    statuses = [step["status"] for step in document.steps]
    assert statuses.count("indexed") == 1
    assert statuses[: statuses.index(killed_in) + 2] == [
        *["queued", "extracting", "redacting", "embedding"][: statuses.index(killed_in) + 1],
        "queued",
    ]
    assert any("re-queued" in step.get("note", "") for step in document.steps)
    assert not any(settings.UPLOAD_DIR.glob(f"{document.pk}*"))
