"""The document state machine, batching, claims, the sweep, duplicates and re-ingestion, on the real pipeline."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cleanroom.audit.models import AuditEvent
from ingestion.models import Chunk, Document
from ingestion.pipeline import _advance, _claim, _Work, document_process
from ingestion.sweep import documents_requeue_stuck
from tests.conftest import ingest, upload
from tests.helpers.samples import make_xlsx

pytestmark = pytest.mark.django_db

POLICY = b"Travel policy.\n\nEconomy class is booked for flights under six hours. Hotels up to 120 EUR a night.\n"


def _post(client, name: str, data: bytes, **extra):
    return client.post("/api/v1/documents", {"file": SimpleUploadedFile(name, data), **extra}, format="multipart")


def test_each_step_is_recorded_with_its_time(alice):
    document = ingest(alice, "travel.txt", POLICY)
    assert document.status == Document.Status.INDEXED
    assert [step["status"] for step in document.steps] == ["queued", "extracting", "redacting", "embedding", "indexed"]
    times = [step["at"] for step in document.steps]
    assert times == sorted(times)
    assert document.attempts == 1 and document.claim_token is None
    body = alice.client().get(f"/api/v1/documents/{document.pk}").json()
    assert [step["status"] for step in body["steps"]] == [step["status"] for step in document.steps]


def test_one_task_processes_a_batch_of_the_tenants_queued_documents(alice, charlie):
    mine = [upload(alice, f"doc{i}.txt", POLICY + f"Rule number {i}.".encode()) for i in range(5)]
    theirs = upload(charlie, "other.txt", POLICY)
    indexed = document_process(document_id=str(mine[2].pk), batch_size=4)
    assert indexed[0] == str(mine[2].pk) and len(indexed) == 4
    statuses = dict(Document.objects.values_list("pk", "status"))
    assert sum(statuses[d.pk] == "indexed" for d in mine) == 4
    assert statuses[theirs.pk] == "queued"  # batches never mix tenants
    for document in Document.objects.filter(status="indexed"):
        ordinals = list(document.chunks.values_list("ordinal", flat=True))
        assert ordinals == list(range(document.chunk_count)) and ordinals


def test_a_bad_file_in_a_batch_fails_alone(alice):
    good = upload(alice, "good.txt", POLICY)
    bad = upload(alice, "bad.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50)
    empty_sheet = upload(alice, "empty.xlsx", make_xlsx({"Sheet1": []}))
    document_process(document_id=str(good.pk))
    states = {d.pk: d for d in Document.objects.all()}
    assert states[good.pk].status == "indexed"
    assert states[bad.pk].status == "failed" and states[bad.pk].error_code in {"corrupt_file", "no_text"}
    assert states[empty_sheet.pk].status == "failed" and states[empty_sheet.pk].error_code == "no_text"
    assert [s["status"] for s in states[bad.pk].steps] == ["queued", "extracting", "failed"]


def test_task_for_a_document_already_claimed_does_nothing(alice):
    document = upload(alice, "travel.txt", POLICY)
    token = uuid.uuid4()
    assert _claim(str(document.pk), token, 10) == [document.pk]
    assert document_process(document_id=str(document.pk)) == []
    assert document_process(document_id="not-a-uuid") == []
    assert document_process(document_id=str(uuid.uuid4())) == []


def test_a_swept_worker_cannot_write_after_another_took_over(alice):
    document = upload(alice, "travel.txt", POLICY)
    stale = uuid.uuid4()
    _claim(str(document.pk), stale, 1)
    Document.objects.filter(pk=document.pk).update(step_started_at=timezone.now() - timedelta(hours=2))
    result = documents_requeue_stuck(older_than=timedelta(minutes=30))
    assert result.requeued == [str(document.pk)]
    document_process(document_id=str(document.pk))  # the new worker
    document.refresh_from_db()
    assert document.status == "indexed" and document.attempts == 2
    # The old worker wakes up and tries to advance: it no longer holds the document.
    assert _advance([_Work(document=document)], stale, Document.Status.EMBEDDING) == []
    assert Chunk.objects.filter(document=document).count() == document.chunk_count


def test_sweep_leaves_recent_work_alone_and_fails_after_max_attempts(alice, settings):
    settings.INGEST_MAX_ATTEMPTS = 2
    recent = upload(alice, "a.txt", POLICY)
    worn = upload(alice, "b.txt", POLICY + b"Other.")
    _claim(str(recent.pk), uuid.uuid4(), 1)
    _claim(str(worn.pk), uuid.uuid4(), 1)
    Document.objects.filter(pk=worn.pk).update(attempts=2, step_started_at=timezone.now() - timedelta(hours=1))
    result = documents_requeue_stuck(older_than=timedelta(minutes=10))
    assert result.requeued == [] and result.failed == [str(worn.pk)]
    worn.refresh_from_db()
    recent.refresh_from_db()
    assert worn.status == "failed" and worn.error_code == "processing_interrupted"
    assert recent.status == "extracting"
    assert not any(settings.UPLOAD_DIR.glob(f"{worn.pk}*"))


def test_sweep_resends_tasks_of_documents_queued_too_long(alice, django_capture_on_commit_callbacks):
    document = upload(alice, "travel.txt", POLICY)
    Document.objects.filter(pk=document.pk).update(step_started_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = documents_requeue_stuck(older_than=timedelta(minutes=10))
    assert result.reenqueued == [str(document.pk)] and len(callbacks) == 1


def test_same_file_twice_is_recognised_and_points_at_the_existing_document(alice):
    client = alice.client()
    first = _post(client, "travel.txt", POLICY)
    assert first.status_code == 202 and first.json()["duplicate"] is False
    second = _post(client, "copy of travel.txt", POLICY)
    assert second.status_code == 200
    assert second.json()["duplicate"] is True and second.json()["id"] == first.json()["id"]
    assert Document.objects.count() == 1


def test_same_bytes_in_another_tenant_are_not_a_duplicate(alice, charlie):
    assert _post(alice.client(), "travel.txt", POLICY).status_code == 202
    response = _post(charlie.client(), "travel.txt", POLICY)
    assert response.status_code == 202 and response.json()["duplicate"] is False


def test_reupload_after_failure_is_ingested_again(alice):
    broken = b"%PDF-1.7\n" + b"\x00garbage" * 50
    failed = ingest(alice, "broken.pdf", broken)
    assert failed.status == "failed"
    again = upload(alice, "broken.pdf", broken)
    assert again.pk != failed.pk


def test_reingest_replaces_chunks_of_the_existing_document(alice):
    document = ingest(alice, "travel.txt", POLICY)
    old_ids = set(Chunk.objects.filter(document=document).values_list("pk", flat=True))
    response = _post(alice.client(), "travel.txt", POLICY, reingest="true")
    assert response.status_code == 202
    assert response.json()["id"] == str(document.pk) and response.json()["status"] == "queued"
    # Until the new chunks are ready the old ones stay searchable.
    assert set(Chunk.objects.filter(document=document).values_list("pk", flat=True)) == old_ids
    document_process(document_id=str(document.pk))
    document.refresh_from_db()
    new = list(Chunk.objects.filter(document=document).values_list("pk", "ordinal"))
    assert document.status == "indexed" and len(new) == document.chunk_count
    assert not old_ids & {pk for pk, _ in new}
    assert AuditEvent.objects.filter(action="document.reingested", target_id=str(document.pk)).exists()


def test_reingest_as_query_parameter(alice):
    ingest(alice, "travel.txt", POLICY)
    response = alice.client().post(
        "/api/v1/documents?reingest=true", {"file": SimpleUploadedFile("t.txt", POLICY)}, format="multipart"
    )
    assert response.status_code == 202 and response.json()["duplicate"] is True


def test_path_characters_in_file_names_are_dropped(alice):
    document = ingest(alice, "../../etc/passwd\\..\\evil\x00name.txt", POLICY)
    assert document.status == "indexed"
    assert "/" not in document.filename and "\\" not in document.filename and "\x00" not in document.filename
    assert document.filename.endswith("name.txt")
    # Quarantine files are named after the id only, whatever the client sent.
    assert all(path.name.split(".")[0] != "passwd" for path in settings.UPLOAD_DIR.iterdir())


def test_deleting_during_processing_leaves_no_chunks(alice):
    document = upload(alice, "travel.txt", POLICY)
    token = uuid.uuid4()
    _claim(str(document.pk), token, 1)
    alice.client().delete(f"/api/v1/documents/{document.pk}")
    work = _Work(document=document)
    assert _advance([work], token, Document.Status.REDACTING) == []
    assert not Chunk.objects.filter(document_id=document.pk).exists()


def test_unsupported_office_container_gets_415_and_stores_nothing(alice):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("content.xml", "<office:document/>")  # an OpenDocument file
    response = _post(alice.client(), "minutes.docx", buffer.getvalue())
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not Document.objects.exists()


def test_tasks_retry_transient_faults_with_backoff_and_ack_late():
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError

    from ingestion.tasks import process_document

    assert process_document.acks_late and process_document.reject_on_worker_lost
    assert {OperationalError, InterfaceError, BrokerError} <= set(process_document.autoretry_for)
    assert process_document.retry_backoff and process_document.max_retries >= 5
    assert "ingestion-sweep-stuck" in settings.CELERY_BEAT_SCHEDULE


def test_missing_raw_file_fails_that_document_alone(alice):
    """A raw file gone from quarantine is a permanent problem of that document; the rest of its batch goes on."""
    first = upload(alice, "a.txt", POLICY)
    second = upload(alice, "b.txt", POLICY + b"More.")
    for path in settings.UPLOAD_DIR.glob(f"{second.pk}*"):
        path.unlink()
    document_process(document_id=str(first.pk))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "indexed"
    assert second.status == "failed" and second.error_code == "upload_missing"
