"""The pool child of a prefork worker (models warmed up, as `serve` and docker-compose run it) is SIGKILLed in the
middle of a batch: Celery's replacement child comes up and stays up, and with the sweep on its own maintenance
worker every document of the batch ends indexed exactly once."""

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

DOCUMENTS = 4


def _prose(n: int) -> bytes:
    """About 100 KB of ordinary prose each: Presidio needs seconds for the batch, a real window to kill in."""
    return "\n\n".join(
        f"Report {n}, section {i}. The maintenance team inspects pump station {i % 17} every {i % 9 + 2} weeks and "
        f"records pressure, vibration and temperature readings in the log. Deviations above {i % 5 + 3} percent "
        f"are reported to the shift supervisor Meera Krishnan within one hour."
        for i in range(400)
    ).encode()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4, after the command name in parentheses
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("a") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def _wait(predicate, timeout: float, what: str, logs: list[Path]) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in logs)
            pytest.fail(f"timed out waiting for {what}:\n{tails}")
        time.sleep(0.2)


def test_killed_pool_child_is_replaced_and_the_batch_is_indexed_exactly_once(tmp_path):
    queue = f"child-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **_database_env(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CLEANROOM_CELERY_QUEUE": queue,
        "CLEANROOM_INGEST_HEARTBEAT_SECONDS": "1",
        "CLEANROOM_STUCK_AFTER_SECONDS": "6",
        "CLEANROOM_SWEEP_INTERVAL_SECONDS": "2",
        "C_FORCE_ROOT": "1",
    }
    alice = make_actor("plant-c", "alice")
    documents = [
        document_upload(
            tenant=alice.tenant, user=alice.user, upload=SimpleUploadedFile(f"r{n}.txt", _prose(n)), enqueue=False
        ).document
        for n in range(DOCUMENTS)
    ]
    for document in documents:
        process_document.apply_async(args=[str(document.pk)], queue=queue)

    worker_log, maintenance_log = tmp_path / "worker.log", tmp_path / "maintenance.log"
    logs = [worker_log, maintenance_log]
    # As `serve` runs them: the ingestion worker (prefork, models loaded before forking) and a small maintenance
    # worker with beat (the sweep), each on its own queue.
    worker = _start(
        worker_command(pool="prefork", concurrency=1, hostname=f"ingest-{queue}@%h", alone=True, queues=[queue]),
        {**env, "CLEANROOM_WARMUP": "1"},
        worker_log,
    )
    maintenance = _start(
        worker_command(
            pool="solo",
            hostname=f"maint-{queue}@%h",
            alone=True,
            beat=True,
            beat_schedule=str(tmp_path / "beat"),
            queues=[f"{queue}.maintenance"],
        ),
        {**env, "CLEANROOM_WARMUP": "0"},
        maintenance_log,
    )
    try:
        in_step = (Document.Status.REDACTING, Document.Status.EMBEDDING)
        _wait(
            lambda: Document.objects.filter(pk__in=[d.pk for d in documents], status__in=in_step).exists(),
            240,
            "the batch to be in redaction",
            logs,
        )
        (child,) = _children(worker.pid)
        held = set(
            Document.objects.filter(pk__in=[d.pk for d in documents], status__in=in_step).values_list("pk", flat=True)
        )
        os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()

        _wait(lambda: [p for p in _children(worker.pid) if p != child], 30, "a replacement child", logs)
        (replacement,) = [p for p in _children(worker.pid) if p != child]
        time.sleep(10)  # longer than Celery's default worker_proc_alive_timeout (4 s) that killed replacements
        assert _alive(replacement) and worker.poll() is None, worker_log.read_text()[-3000:]

        _wait(
            lambda: (
                Document.objects.filter(pk__in=[d.pk for d in documents], status=Document.Status.INDEXED).count()
                == DOCUMENTS
            ),
            300,
            "every document to be indexed",
            logs,
        )
        recovered_in = time.monotonic() - killed_at
        assert _children(worker.pid) == [replacement]  # the same replacement did the work: never killed
    finally:
        _stop(worker)
        _stop(maintenance)

    text = worker_log.read_text()
    assert "Timed out waiting for UP message" not in text and "ProcessTerminated" not in text
    # Loaded once, by the main process before it forked: neither the first child nor its replacement loaded again.
    assert text.count("Loading SentenceTransformer model") == 1
    assert text.index("Loading SentenceTransformer model") < text.index("ready.")
    for document in Document.objects.filter(pk__in=[d.pk for d in documents]):
        ordinals = list(Chunk.objects.filter(document_id=document.pk).values_list("ordinal", flat=True))
        assert len(ordinals) == document.chunk_count > 0
        assert sorted(ordinals) == list(range(document.chunk_count))  # no duplicates, no gaps
        statuses = [step["status"] for step in document.steps]
        assert statuses.count("indexed") == 1
        if document.pk in held:
            assert document.attempts == 2
            assert any("re-queued" in step.get("note", "") for step in document.steps)
    assert held, "the kill came too late to interrupt the batch"
    print(f"recovered and indexed {DOCUMENTS} documents {recovered_in:.1f} s after the kill")
