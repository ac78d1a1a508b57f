from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import connections, models, router, transaction
from django.db.models import Case, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.embeddings import embed, embedding_model_version
from cleanroom.errors import ServiceError
from cleanroom.pii.policy import PolicyResult, pii_policy_apply, pii_policy_apply_many
from cleanroom.policies.selectors import tenant_policy
from cleanroom.residency import check_processing_allowed, check_storage_allowed
from cleanroom.tenants.models import Tenant
from cleanroom.vault.services import redaction_findings_save
from ingestion.chunking import ChunkText, chunk_sections
from ingestion.extraction import Extracted, ExtractionError, extract, sniff_media_type
from ingestion.models import Chunk, Document

logger = logging.getLogger(__name__)
Status = Document.Status


def _store_alias() -> str:
    """The database holding this tenant's documents (its region store; `default` in a single-region setup)."""
    return router.db_for_write(Document)


# --- Quarantine: raw bytes wait here, unredacted, until a worker has processed them --------------------------------


def _quarantine_paths(document_id: uuid.UUID | str) -> tuple[Path, Path]:
    base = Path(settings.UPLOAD_DIR) / str(document_id)
    return base.with_suffix(".bin"), base.with_suffix(".json")


def _discard_raw(document_id: uuid.UUID | str) -> None:
    for path in _quarantine_paths(document_id):
        path.unlink(missing_ok=True)


def safe_filename(name: str) -> str:
    """The last path component only, without control characters: clients send all sorts."""
    name = PurePosixPath(name.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name[:200] or "upload"


def _write_private(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so that a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _park_raw(document_id: uuid.UUID, data: bytes, filename: str, title: str) -> None:
    raw_path, meta_path = _quarantine_paths(document_id)
    _write_private(raw_path, data)
    _write_private(meta_path, json.dumps({"filename": filename, "title": title.strip()[:300]}).encode())


# --- Upload ---------------------------------------------------------------------------------------------------------


class UploadOutcome(NamedTuple):
    document: Document
    duplicate: bool  # the tenant already had these exact bytes; nothing new was queued


def _steps_append(status: str, *, note: str = "") -> RawSQL:
    """`steps || [{status, at, attempt}]` for an UPDATE, so that many documents advance in one statement."""
    entry: dict[str, Any] = {"status": status, "at": timezone.now().isoformat()}
    if note:
        entry["note"] = note
    return RawSQL(
        "steps || jsonb_build_array(%s::jsonb || jsonb_build_object('attempt', attempts))",
        [json.dumps(entry)],
        output_field=models.JSONField(),
    )


def _check_upload(upload: UploadedFile) -> None:
    if upload.size is None or upload.size == 0:
        raise ServiceError("empty_file", "The file is empty.")
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise ServiceError(
            "file_too_large",
            f"The file is {upload.size / 1048576:.1f} MB; the limit is {settings.MAX_UPLOAD_BYTES // 1048576} MB.",
            status_code=413,
        )


def document_upload(
    *,
    tenant: Tenant,
    user: AbstractBaseUser | None,
    upload: UploadedFile,
    title: str = "",
    reingest: bool = False,
    enqueue: bool = True,
) -> UploadOutcome:
    """Accept an upload: check it, park the raw bytes in quarantine, queue the worker. Nothing raw goes into the
    database: title and file name wait beside the bytes until the worker has redacted them.

    Bytes the tenant already uploaded (same SHA-256, not failed) are not ingested again: the existing document
    is returned with `duplicate=True`. With `reingest=True` that existing document is processed again in place;
    its chunks are replaced in one transaction when the new ones are ready, so search never sees it half-indexed.
    `enqueue=False` leaves the document queued for a caller that processes it itself (`manage.py ingest`).
    """
    check_storage_allowed(tenant_policy(tenant=tenant))
    _check_upload(upload)
    data = upload.read()
    if len(data) > settings.MAX_UPLOAD_BYTES:  # the declared size may lie
        raise ServiceError("file_too_large", "The file is larger than the upload limit.", status_code=413)
    filename = safe_filename(upload.name or "")
    try:
        media_type = sniff_media_type(data, filename)
    except ExtractionError as exc:
        status = 415 if exc.code == "unsupported_media_type" else 400
        raise ServiceError(exc.code, exc.message, status_code=status) from exc
    digest = hashlib.sha256(data).hexdigest()

    alias = _store_alias()
    with transaction.atomic(using=alias):
        # Two uploads of the same bytes at once must not both pass the duplicate check.
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"upload:{tenant.pk}:{digest}"])
        existing = (
            Document.objects.select_for_update()
            .filter(tenant=tenant, content_sha256=digest)
            .exclude(status=Status.FAILED)
            .order_by("created_at")
            .first()
        )
        if existing is not None and not reingest:
            return UploadOutcome(existing, duplicate=True)
        if existing is not None:
            return UploadOutcome(_reingest(existing, user, data, filename, title, enqueue), duplicate=True)
        document_id = uuid.uuid4()
        _park_raw(document_id, data, filename, title)
        try:
            document = Document.objects.create(
                id=document_id,
                tenant=tenant,
                uploaded_by=user,
                media_type=media_type,
                size_bytes=len(data),
                content_sha256=digest,
                step_started_at=timezone.now(),
                steps=[{"status": Status.QUEUED, "at": timezone.now().isoformat(), "attempt": 0}],
            )
            audit_record(
                tenant=tenant,
                actor=user,
                action="document.uploaded",
                target=document,
                details={"media_type": media_type, "size_bytes": len(data)},
            )
        except BaseException:
            _discard_raw(document_id)
            raise
        if enqueue:
            transaction.on_commit(lambda: document_enqueue(document_id=document_id))
    return UploadOutcome(document, duplicate=False)


def _reingest(
    document: Document, user: AbstractBaseUser | None, data: bytes, filename: str, title: str, enqueue: bool
) -> Document:
    if document.in_progress:
        return document  # already on its way through the pipeline with these very bytes
    _park_raw(document.pk, data, filename, title or document.title)
    Document.objects.filter(pk=document.pk).update(
        status=Status.QUEUED,
        claim_token=None,
        attempts=0,
        error_code="",
        error_message="",
        step_started_at=timezone.now(),
        updated_at=timezone.now(),
        steps=_steps_append(Status.QUEUED, note="re-ingestion requested"),
    )
    audit_record(tenant=document.tenant, actor=user, action="document.reingested", target=document)
    if enqueue:
        transaction.on_commit(lambda: document_enqueue(document_id=document.pk))
    document.refresh_from_db()
    return document


def document_create(
    *, tenant: Tenant, user: AbstractBaseUser | None, upload: UploadedFile, title: str = "", reingest: bool = False
) -> Document:
    """The uploaded document, new or (for bytes the tenant already has) the existing one."""
    return document_upload(tenant=tenant, user=user, upload=upload, title=title, reingest=reingest).document


def document_enqueue(*, document_id: uuid.UUID | str) -> None:
    """Hand a document to the workers. A broker that is briefly gone must not fail the upload that already
    committed: the document stays queued and the periodic sweep enqueues it again."""
    from ingestion.tasks import process_document

    try:
        process_document.delay(str(document_id))
    except Exception as exc:  # kombu/redis raise several unrelated types for "broker unreachable"
        logger.warning("could not enqueue document %s (%s); the sweep will retry", document_id, type(exc).__name__)


# --- Processing: queued → extracting → redacting → embedding → indexed | failed --------------------------------------


@dataclass
class _Work:
    """One document of a batch on its way through the steps."""

    document: Document
    filename: str = ""
    title: str = ""
    extracted: Extracted | None = None
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    pii: PolicyResult | None = None
    safe_title: str = ""
    safe_name: str = ""
    raw_sha256: str = ""
    pieces: list[ChunkText] = field(default_factory=list)


def document_process(*, document_id: str, batch_size: int | None = None) -> list[str]:
    """Process `document_id` together with other queued documents of its tenant (up to `batch_size`), so that
    Presidio, the embedder and the database each see many documents at once. Safe to call twice: only a call
    that claims the document (queued → extracting) does any work. Returns the ids this call indexed."""
    limit = batch_size or settings.INGEST_BATCH_DOCUMENTS
    token = uuid.uuid4()
    claimed = _claim(document_id, token, limit)
    if not claimed:
        return []
    try:
        return _process_claimed(claimed, token)
    except BaseException as exc:
        if not isinstance(exc, Exception):  # Ctrl-C in `manage.py ingest`, a worker shutting down
            _release(claimed, token)
            raise
        transient = _is_transient(exc)
        # Hand the documents back: after a database or broker fault the retried task claims them again (if the
        # database is gone too, the sweep does it later).
        try:
            _release(claimed, token)
        except Exception as release_exc:
            logger.warning("could not release documents (%s); the sweep will", type(release_exc).__name__)
            raise exc from None
        if transient:
            raise
        logger.error("batch of %d failed unexpectedly: %s", len(claimed), type(exc).__name__)
        if len(claimed) == 1:
            document = Document.objects.filter(pk=claimed[0]).first()
            if document is not None:
                message = f"Processing failed unexpectedly ({type(exc).__name__})."
                _fail(document, None, "internal_error", message, statuses=(Status.QUEUED,))
            return []
        # Find the one document that breaks the batch by processing each alone.
        done: list[str] = []
        for pk in claimed:
            done.extend(document_process(document_id=str(pk), batch_size=1))
        return done


def _claim(document_id: str | uuid.UUID, token: uuid.UUID, limit: int) -> list[uuid.UUID]:
    """Claim `document_id` and up to `limit - 1` more queued documents of its tenant, oldest first, within
    the byte budget. Rows locked by another worker are skipped, never waited for."""
    try:
        document_id = str(uuid.UUID(str(document_id)))
    except ValueError:
        return []
    target = Document.objects.filter(pk=document_id, status=Status.QUEUED).values("tenant_id").first()
    if target is None:
        return []
    now = timezone.now()
    with transaction.atomic(using=_store_alias()):
        candidates = list(
            Document.objects.select_for_update(skip_locked=True)
            .filter(tenant_id=target["tenant_id"], status=Status.QUEUED)
            .annotate(first=Case(When(pk=document_id, then=Value(0)), default=Value(1)))
            .order_by("first", "created_at")
            .values_list("pk", "size_bytes")[:limit]
        )
        if not candidates or str(candidates[0][0]) != str(document_id):
            return []  # another worker holds it
        chosen, total = [], 0
        for pk, size in candidates:
            if chosen and total + size > settings.INGEST_BATCH_BYTES:
                break
            chosen.append(pk)
            total += size
        Document.objects.filter(pk__in=chosen).update(
            status=Status.EXTRACTING,
            claim_token=token,
            attempts=models.F("attempts") + 1,
            processing_started_at=now,
            step_started_at=now,
            updated_at=now,
            steps=RawSQL(
                "steps || jsonb_build_array(jsonb_build_object('status', %s, 'at', %s, 'attempt', attempts + 1))",
                [Status.EXTRACTING, now.isoformat()],
                output_field=models.JSONField(),
            ),
        )
    return chosen


def _advance(works: list[_Work], token: uuid.UUID, status: str) -> list[_Work]:
    """Move the batch to the next step in one statement; keep only the documents this run still holds (a
    document deleted meanwhile, or swept and claimed by another worker, drops out)."""
    if not works:
        return []
    ids = [work.document.pk for work in works]
    held = Document.objects.filter(pk__in=ids, claim_token=token, status__in=Document.IN_PROGRESS)
    updated = held.update(
        status=status, step_started_at=timezone.now(), updated_at=timezone.now(), steps=_steps_append(status)
    )
    if updated == len(ids):
        return works
    still = set(Document.objects.filter(pk__in=ids, claim_token=token).values_list("pk", flat=True))
    return [work for work in works if work.document.pk in still]


def _release(ids: list[uuid.UUID], token: uuid.UUID) -> None:
    Document.objects.filter(pk__in=ids, claim_token=token, status__in=Document.IN_PROGRESS).update(
        status=Status.QUEUED,
        claim_token=None,
        step_started_at=timezone.now(),
        updated_at=timezone.now(),
        steps=_steps_append(Status.QUEUED, note="released after a transient fault"),
    )


def _fail(
    document: Document,
    token: uuid.UUID | None,
    code: str,
    message: str,
    *,
    statuses: tuple[str, ...] = Document.IN_PROGRESS,
) -> bool:
    """Mark the document failed, if this run still holds it; its raw bytes go once the failure is recorded."""
    with transaction.atomic(using=_store_alias()):
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
            steps=_steps_append(Status.FAILED, note=code),
        )
        if updated:
            audit_record(
                tenant=document.tenant, actor=None, action="document.failed", target=document, details={"code": code}
            )
    if updated:
        _discard_raw(document.pk)
    return bool(updated)


def _process_claimed(claimed: list[uuid.UUID], token: uuid.UUID) -> list[str]:
    documents = list(Document.objects.filter(pk__in=claimed, claim_token=token))
    documents.sort(key=lambda d: claimed.index(d.pk))
    if not documents:
        return []
    tenant = documents[0].tenant
    policy = tenant_policy(tenant=tenant)
    try:
        check_processing_allowed(policy, backend_region=settings.CLEANROOM_REGION, what="embedding model")
    except ServiceError as exc:
        for document in documents:
            _fail(document, token, exc.code, exc.message)
        return []

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    # extracting
    works: list[_Work] = []
    for document in documents:
        work = _Work(document=document)
        try:
            _extract_one(work)
        except (ExtractionError, ServiceError) as exc:
            _fail(document, token, exc.code, exc.message)
            continue
        except Exception as exc:
            if _is_transient(exc):
                raise
            # The message of an arbitrary exception may quote document text: log and store only its type.
            logger.error("document %s failed in extraction: %s", document.pk, type(exc).__name__)
            _fail(document, token, "internal_error", f"Text extraction failed unexpectedly ({type(exc).__name__}).")
            continue
        works.append(work)

    timings["extract"], clock = time.perf_counter() - clock, time.perf_counter()

    # redacting, then embedding; with INGEST_PIPELINE_DOCUMENTS set, in slices: while the embedder (torch, which
    # releases the GIL) works on one slice, this thread runs Presidio (single-threaded) on the next one.
    works = _advance(works, token, Status.REDACTING)
    slice_size = settings.INGEST_PIPELINE_DOCUMENTS or max(1, len(works))
    ready: list[_Work] = []
    pending: list[Future[np.ndarray]] = []
    redact_seconds = 0.0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed") as embedder:
        for start in range(0, len(works), slice_size):
            began = time.perf_counter()
            redacted = _redact_and_chunk_many(works[start : start + slice_size], token)
            redact_seconds += time.perf_counter() - began
            redacted = _advance(redacted, token, Status.EMBEDDING)
            inputs = [embedding_text(w.safe_title, piece.section, piece.text) for w in redacted for piece in w.pieces]
            if inputs:
                pending.append(embedder.submit(embed, inputs, batch_size=settings.EMBEDDING_BATCH_SIZE))
                ready.extend(redacted)
        vectors = np.concatenate([future.result() for future in pending]) if pending else np.zeros((0, 1))
    timings["redact"] = redact_seconds
    timings["embed_wait"], clock = time.perf_counter() - clock - redact_seconds, time.perf_counter()

    stored = _store(ready, vectors, token, policy)
    for document_id in stored:
        _discard_raw(document_id)
    timings["store"] = time.perf_counter() - clock
    logger.info(
        "batch: %d documents claimed, %d indexed, %d chunks; %s",
        len(claimed),
        len(stored),
        len(vectors),
        ", ".join(f"{step} {seconds:.2f}s" for step, seconds in timings.items()),
    )
    return [str(pk) for pk in stored]


def _redact_and_chunk_many(works: list[_Work], token: uuid.UUID) -> list[_Work]:
    """Redact documents in one detector pass and cut them into chunks; those that cannot be are failed and left out.

    An unexpected error in the batched pass sends each document through alone, so that only the document that
    causes it fails."""
    if not works:
        return []
    try:
        results = pii_policy_apply_many(tenant=works[0].document.tenant, batches=[_redaction_input(w) for w in works])
    except Exception as exc:
        if _is_transient(exc):
            raise
        return [work for work in works if _redact_and_chunk(work, token)]
    return [work for work, result in zip(works, results, strict=True) if _redact_and_chunk(work, token, result)]


def _redact_and_chunk(work: _Work, token: uuid.UUID, result: PolicyResult | ServiceError | None = None) -> bool:
    """Redact one document (unless `result` is its redaction already) and cut it into chunks; False (and the
    document failed) when that is impossible."""
    try:
        if isinstance(result, ServiceError):
            raise result
        _redaction_take(work, result or pii_policy_apply(tenant=work.document.tenant, texts=_redaction_input(work)))
    except ServiceError as exc:
        _fail(work.document, token, exc.code, exc.message)
        return False
    except Exception as exc:
        if _is_transient(exc):
            raise
        logger.error("document %s failed in redaction: %s", work.document.pk, type(exc).__name__)
        _fail(work.document, token, "internal_error", f"Redaction failed unexpectedly ({type(exc).__name__}).")
        return False
    work.extracted = None  # drop the raw text as soon as it is no longer needed
    work.pieces = chunk_sections(
        list(zip(work.labels, work.texts, strict=True)),
        target_words=settings.CHUNK_TARGET_WORDS,
        overlap_words=settings.CHUNK_OVERLAP_WORDS,
    )
    if not work.pieces:
        _fail(work.document, token, "no_text", "No text was left to index after extraction.")
        return False
    return True


def _extract_one(work: _Work) -> None:
    raw_path, meta_path = _quarantine_paths(work.document.pk)
    try:
        data = raw_path.read_bytes()
    except FileNotFoundError as exc:
        raise ServiceError("upload_missing", "The uploaded file is no longer available; upload it again.") from exc
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    work.filename = meta.get("filename", "")
    extracted = extract(data, work.filename)
    first_label = next((s.label for s in extracted.sections if s.label and not s.label.startswith("page ")), "")
    work.title = meta.get("title") or first_label or work.filename.rsplit(".", 1)[0]
    work.extracted = extracted


def _redaction_input(work: _Work) -> list[str]:
    """Everything that will be stored goes through the PII layer: body, section labels, title and file name."""
    assert work.extracted is not None
    sections = work.extracted.sections
    return [*(s.text for s in sections), *(s.label for s in sections), work.title, work.filename]


def _redaction_take(work: _Work, result: PolicyResult) -> None:
    """Keep a document's redaction under the tenant's policy (redact, mask, pseudonymize per type; a policy that
    refuses the document has raised before this)."""
    assert work.extracted is not None
    raw_texts = [s.text for s in work.extracted.sections]
    work.pii = result
    redacted = result.texts
    n = len(raw_texts)
    work.texts, work.labels = redacted[:n], redacted[n : 2 * n]
    work.safe_title, work.safe_name = redacted[2 * n], redacted[2 * n + 1]
    work.counts = result.counts
    work.raw_sha256 = hashlib.sha256("\n\n".join(raw_texts).encode()).hexdigest()


def embedding_text(title: str, section: str, text: str) -> str:
    if section.startswith("page "):  # a page number says nothing about the content
        section = ""
    context = [part for part in dict.fromkeys((title.strip(), section.strip())) if part and part not in text[:200]]
    return "\n".join([*context, text])


def _store(works: list[_Work], vectors: np.ndarray, token: uuid.UUID, policy: Any) -> list[uuid.UUID]:  # noqa: ANN401
    """One transaction for the whole batch: old chunks out, new chunks and vectors in, each document indexed.
    A document this run no longer holds (deleted, or swept and taken over) is skipped entirely."""
    if not works:
        return []
    common = {
        "embedding_model": embedding_model_version(),
        "redacted_entity_types": sorted(policy.redact_entities),
        "region": settings.CLEANROOM_REGION,
    }
    offsets, position = [], 0
    for work in works:
        offsets.append(position)
        position += len(work.pieces)
    stored: list[uuid.UUID] = []
    with transaction.atomic(using=_store_alias()):
        # Locking the rows makes a concurrent delete or sweep wait for this commit instead of racing it.
        held = set(
            Document.objects.select_for_update()
            .filter(pk__in=[w.document.pk for w in works], claim_token=token, status=Status.EMBEDDING)
            .values_list("pk", flat=True)
        )
        kept = [(work, offset) for work, offset in zip(works, offsets, strict=True) if work.document.pk in held]
        if not kept:
            return []
        # Replacing rather than appending: a re-run or a re-ingestion never duplicates chunks.
        Chunk.objects.filter(document_id__in=held).delete()
        Chunk.objects.bulk_create(
            [
                Chunk(
                    tenant_id=work.document.tenant_id,
                    document_id=work.document.pk,
                    ordinal=i,
                    section=piece.section[:300],
                    text=piece.text,
                    embedding=vectors[offset + i],
                )
                for work, offset in kept
                for i, piece in enumerate(work.pieces)
            ],
            batch_size=2000,
        )
        now = timezone.now()
        for work, _offset in kept:
            assert work.pii is not None
            manifest = {
                **work.pii.manifest,  # detector version, policy rule id and version, per-type actions and thresholds
                **common,
                "counts": work.counts,
                "text_sha256_before": work.raw_sha256,
                "text_sha256_after": hashlib.sha256("\n\n".join(work.texts).encode()).hexdigest(),
            }
            Document.objects.filter(pk=work.document.pk).update(
                status=Status.INDEXED,
                claim_token=None,
                title=work.safe_title[:300],
                filename=work.safe_name[:255],
                media_type=work.document.media_type,
                redaction_counts=work.counts,
                manifest=manifest,
                chunk_count=len(work.pieces),
                error_code="",
                error_message="",
                finished_at=now,
                updated_at=now,
                step_started_at=now,
                steps=_steps_append(Status.INDEXED),
            )
            redaction_findings_save(document=work.document, result=work.pii)
            audit_record(
                tenant=work.document.tenant,
                actor=None,
                action="document.indexed",
                target=work.document,
                details={"chunks": len(work.pieces), "manifest": manifest},
            )
            stored.append(work.document.pk)
    return stored


def _is_transient(exc: BaseException) -> bool:
    from ingestion.tasks import TRANSIENT_ERRORS

    return isinstance(exc, TRANSIENT_ERRORS)


# --- The sweep: documents whose worker vanished ----------------------------------------------------------------------


class SweepResult(NamedTuple):
    requeued: list[str]
    failed: list[str]
    reenqueued: list[str]


def documents_requeue_stuck(*, older_than: timedelta | None = None) -> SweepResult:
    """Re-queue documents that have sat in a processing step longer than `older_than` (their worker died:
    SIGKILL, out of memory, a lost machine); fail those that were already tried INGEST_MAX_ATTEMPTS times, so
    that a file that kills workers cannot do so forever. Documents queued that long get their task sent again
    (the broker may have lost it); tasks are idempotent, so a duplicate costs one query."""
    limit = older_than if older_than is not None else timedelta(seconds=settings.INGEST_STUCK_AFTER_SECONDS)
    cutoff = timezone.now() - limit
    with transaction.atomic(using=_store_alias()):
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
            steps=_steps_append(Status.QUEUED, note="re-queued: the worker stopped answering"),
        )
        for document in exhausted:
            _fail(
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
            Document.objects.filter(status=Status.QUEUED, step_started_at__lt=cutoff).values_list("pk", flat=True)
        )
        for pk in [*retry, *waiting]:
            transaction.on_commit(lambda pk=pk: document_enqueue(document_id=pk), using=_store_alias())
    if retry or exhausted:
        logger.warning("sweep: re-queued %d stuck documents, failed %d", len(retry), len(exhausted))
    return SweepResult(
        requeued=[str(pk) for pk in retry],
        failed=[str(d.pk) for d in exhausted],
        reenqueued=[str(pk) for pk in waiting],
    )


def document_delete(*, tenant: Tenant, user: AbstractBaseUser | None, document: Document) -> None:
    if document.tenant_id != tenant.pk:
        raise ServiceError("not_found", "No such document.", status_code=404)
    document_pk = document.pk
    alias = document._state.db or _store_alias()
    with transaction.atomic(using=alias):
        document.delete()  # chunks and their vectors go with it, in this transaction
        audit_record(
            tenant=tenant,
            actor=user,
            action="document.deleted",
            target=None,
            details={"document_id": str(document_pk)},
        )
        transaction.on_commit(lambda: _discard_raw(document_pk), using=alias)
