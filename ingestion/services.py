from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.embeddings import embed, embedding_model_version
from cleanroom.errors import ServiceError
from cleanroom.pii.policy import pii_policy_apply
from cleanroom.policies.selectors import tenant_policy
from cleanroom.residency import check_processing_allowed, check_storage_allowed
from cleanroom.tenants.models import Tenant
from cleanroom.vault.services import redaction_findings_save
from ingestion.chunking import chunk_sections
from ingestion.extraction import ExtractionError, extract, sniff_media_type
from ingestion.models import Chunk, Document

logger = logging.getLogger(__name__)


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
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def document_create(
    *, tenant: Tenant, user: AbstractBaseUser | None, upload: UploadedFile, title: str = ""
) -> Document:
    """Accept an upload: check it, park the raw bytes in quarantine, queue the worker. Nothing raw goes into the
    database: title and file name wait beside the bytes until the worker has redacted them."""
    check_storage_allowed(tenant_policy(tenant=tenant))
    if upload.size is None or upload.size == 0:
        raise ServiceError("empty_file", "The file is empty.")
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise ServiceError(
            "file_too_large",
            f"The file is {upload.size / 1048576:.1f} MB; the limit is {settings.MAX_UPLOAD_BYTES // 1048576} MB.",
            status_code=413,
        )
    data = upload.read()
    filename = safe_filename(upload.name or "")
    try:
        media_type = sniff_media_type(data, filename)
    except ExtractionError as exc:
        status = 415 if exc.code == "unsupported_media_type" else 400
        raise ServiceError(exc.code, exc.message, status_code=status) from exc

    document_id = uuid.uuid4()
    raw_path, meta_path = _quarantine_paths(document_id)
    _write_private(raw_path, data)
    _write_private(meta_path, json.dumps({"filename": filename, "title": title.strip()[:300]}).encode())
    try:
        with transaction.atomic():
            document = Document.objects.create(
                id=document_id,
                tenant=tenant,
                uploaded_by=user,
                media_type=media_type,
                size_bytes=len(data),
                content_sha256=hashlib.sha256(data).hexdigest(),
            )
            audit_record(
                tenant=tenant,
                actor=user,
                action="document.uploaded",
                target=document,
                details={"media_type": media_type, "size_bytes": len(data)},
            )
            transaction.on_commit(lambda: _enqueue(document.pk))
    except BaseException:
        _discard_raw(document_id)
        raise
    return document


def _enqueue(document_id: uuid.UUID) -> None:
    from ingestion.tasks import process_document

    process_document.delay(str(document_id))


def _fail(document: Document, code: str, message: str) -> None:
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.FAILED,
            error_code=code,
            error_message=message,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        audit_record(
            tenant=document.tenant,
            actor=None,
            action="document.failed",
            target=document,
            details={"code": code},
        )


def document_process(*, document_id: str) -> None:
    """Extract, redact, chunk, embed and index one document. Safe to call twice: only the call that moves the
    document from queued to processing does the work."""
    claimed = Document.objects.filter(pk=document_id, status=Document.Status.QUEUED).update(
        status=Document.Status.PROCESSING, processing_started_at=timezone.now(), updated_at=timezone.now()
    )
    if not claimed:
        return
    document = Document.objects.get(pk=document_id)  # no join: the tenant lives in the control plane
    raw_path, meta_path = _quarantine_paths(document.pk)
    try:
        _index(document, raw_path, meta_path)
    except ExtractionError as exc:
        _fail(document, exc.code, exc.message)
    except ServiceError as exc:
        _fail(document, exc.code, exc.message)
    except Exception as exc:
        # The message of an arbitrary exception may quote document text: log and store only its type.
        logger.error("document %s failed unexpectedly: %s", document.pk, type(exc).__name__)
        _fail(document, "internal_error", f"Processing failed unexpectedly ({type(exc).__name__}).")
    finally:
        _discard_raw(document.pk)


def embedding_text(title: str, section: str, text: str) -> str:
    if section.startswith("page "):  # a page number says nothing about the content
        section = ""
    context = [part for part in dict.fromkeys((title.strip(), section.strip())) if part and part not in text[:200]]
    return "\n".join([*context, text])


def _index(document: Document, raw_path: Path, meta_path: Path) -> None:
    if not raw_path.exists():
        raise ServiceError("upload_missing", "The uploaded file is no longer available; upload it again.")
    data = raw_path.read_bytes()
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    filename = meta.get("filename", "")

    policy = tenant_policy(tenant=document.tenant)
    check_processing_allowed(policy, backend_region=settings.CLEANROOM_REGION, what="embedding model")
    extracted = extract(data, filename)

    first_label = next((s.label for s in extracted.sections if s.label and not s.label.startswith("page ")), "")
    title = meta.get("title") or first_label or filename.rsplit(".", 1)[0]
    raw_texts = [s.text for s in extracted.sections]
    raw_labels = [s.label for s in extracted.sections]
    # One pass over everything that will be stored: body, section labels, title and file name.
    pii = pii_policy_apply(tenant=document.tenant, texts=[*raw_texts, *raw_labels, title, filename])
    redacted, counts = pii.texts, pii.counts
    n = len(raw_texts)
    texts, labels = redacted[:n], redacted[n : 2 * n]
    safe_title, safe_name = redacted[2 * n], redacted[2 * n + 1]

    pieces = chunk_sections(
        list(zip(labels, texts, strict=True)),
        target_words=settings.CHUNK_TARGET_WORDS,
        overlap_words=settings.CHUNK_OVERLAP_WORDS,
    )
    if not pieces:
        raise ServiceError("no_text", "No text was left to index after extraction.")
    # The title and section go into what is embedded (not into the stored text): a passage that says "it is
    # granted for 12 days" is found by a question about sick leave when its heading says "Sick leave".
    vectors = embed(
        [embedding_text(safe_title, piece.section, piece.text) for piece in pieces],
        batch_size=settings.EMBEDDING_BATCH_SIZE,
    )

    raw_text = "\n\n".join(raw_texts)
    manifest = {
        **pii.manifest,  # detector version, policy rule id and version, per-type actions and thresholds
        "embedding_model": embedding_model_version(),
        "redacted_entity_types": sorted(policy.redact_entities),
        "counts": counts,
        "text_sha256_before": hashlib.sha256(raw_text.encode()).hexdigest(),
        "text_sha256_after": hashlib.sha256("\n\n".join(texts).encode()).hexdigest(),
        "region": settings.CLEANROOM_REGION,
    }
    with transaction.atomic():
        # Replacing rather than appending keeps a re-run from duplicating chunks.
        Chunk.objects.filter(document=document).delete()
        Chunk.objects.bulk_create(
            [
                Chunk(
                    tenant_id=document.tenant_id,
                    document=document,
                    ordinal=i,
                    section=piece.section[:300],
                    text=piece.text,
                    embedding=vector,
                )
                for i, (piece, vector) in enumerate(zip(pieces, vectors, strict=True))
            ],
            batch_size=500,
        )
        updated = Document.objects.filter(pk=document.pk, status=Document.Status.PROCESSING).update(
            status=Document.Status.INDEXED,
            title=safe_title[:300],
            filename=safe_name[:255],
            media_type=extracted.media_type,
            redaction_counts=counts,
            manifest=manifest,
            chunk_count=len(pieces),
            error_code="",
            error_message="",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if not updated:  # deleted while we worked: drop what we wrote with it
            transaction.set_rollback(True)
            return
        redaction_findings_save(document=document, result=pii)
        audit_record(
            tenant=document.tenant,
            actor=None,
            action="document.indexed",
            target=document,
            details={"chunks": len(pieces), "manifest": manifest},
        )


@transaction.atomic
def document_delete(*, tenant: Tenant, user: AbstractBaseUser | None, document: Document) -> None:
    if document.tenant_id != tenant.pk:
        raise ServiceError("not_found", "No such document.", status_code=404)
    document_pk = document.pk
    document.delete()  # chunks and their vectors go with it, in this transaction
    audit_record(
        tenant=tenant,
        actor=user,
        action="document.deleted",
        target=None,
        details={"document_id": str(document_pk)},
    )
    transaction.on_commit(lambda: _discard_raw(document_pk))
