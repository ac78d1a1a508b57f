"""Upload: check a file, park its bytes in quarantine, record the document as queued, hand it to the workers.
Nothing raw goes into the database here; the pipeline (ingestion/pipeline.py) redacts before anything is stored."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import PurePosixPath
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import connections, transaction
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.policies.selectors import tenant_policy
from cleanroom.residency import check_storage_allowed
from cleanroom.tenants.models import Tenant
from ingestion.extraction import ExtractionError, sniff_media_type
from ingestion.extraction.base import CSV, EML, HTML, MARKDOWN, TEXT
from ingestion.extraction.text import decode
from ingestion.index_embedder import index_embedder_check
from ingestion.models import Document
from ingestion.quarantine import discard_raw, park_raw
from ingestion.steps import document_enqueue, steps_append, store_alias

Status = Document.Status


def safe_filename(name: str) -> str:
    """The last path component only, without control characters: clients send all sorts."""
    name = PurePosixPath(name.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name[:200] or "upload"


class UploadOutcome(NamedTuple):
    document: Document
    duplicate: bool  # the tenant already had these exact bytes; nothing new was queued


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
    user: User | None,
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
    if media_type in (TEXT, MARKDOWN, CSV, HTML, EML):
        # The type was sniffed from the first 64 KB: the whole text must decode and hold no NUL (PostgreSQL stores
        # none), or it is refused now rather than failing in the worker later.
        text = decode(data)
        if text is None or "\x00" in text:
            raise ServiceError(
                "invalid_text",
                "The file is not valid text: it holds NUL characters or bytes that no common encoding reads.",
                status_code=400,
            )
    digest = hashlib.sha256(data).hexdigest()

    alias = store_alias()
    index_embedder_check(alias=alias)  # a store waiting for `manage.py reembed` takes no new documents
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
        park_raw(document_id, data, filename, title)
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
            discard_raw(document_id)
            raise
        if enqueue:
            transaction.on_commit(lambda: document_enqueue(document_id=document_id))
    return UploadOutcome(document, duplicate=False)


def _reingest(document: Document, user: User | None, data: bytes, filename: str, title: str, enqueue: bool) -> Document:
    if document.in_progress:
        return document  # already on its way through the pipeline with these very bytes
    park_raw(document.pk, data, filename, title or document.title)
    Document.objects.filter(pk=document.pk).update(
        status=Status.QUEUED,
        claim_token=None,
        attempts=0,
        error_code="",
        error_message="",
        step_started_at=timezone.now(),
        updated_at=timezone.now(),
        steps=steps_append(Status.QUEUED, note="re-ingestion requested"),
    )
    audit_record(tenant=document.tenant, actor=user, action="document.reingested", target=document)
    if enqueue:
        transaction.on_commit(lambda: document_enqueue(document_id=document.pk))
    document.refresh_from_db()
    return document


def document_create(
    *, tenant: Tenant, user: User | None, upload: UploadedFile, title: str = "", reingest: bool = False
) -> Document:
    """The uploaded document, new or (for bytes the tenant already has) the existing one."""
    return document_upload(tenant=tenant, user=user, upload=upload, title=title, reingest=reingest).document
