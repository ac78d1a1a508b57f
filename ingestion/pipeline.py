"""Processing: queued -> extracting -> redacting -> embedding -> indexed | failed, or redacting -> held.

A worker claims a batch of one tenant's queued documents (claim tokens make a redelivered task harmless),
extracts their text, sends everything that will be stored through the one redaction door, cuts chunks, gives the
chunks the second, stricter pass (the leak scan's), embeds them and stores the batch in one transaction, with the
findings erasure needs later. A document whose second pass found values its policy holds for review waits, held,
until a reviewer releases it (ingestion/review.py); then it runs again with the reviewer's decisions."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.pii.policy import Finding
from cleanroom.policies.selectors import tenant_policy
from cleanroom.redaction import (
    Decisions,
    PolicyResult,
    SecondPass,
    pii_policy_apply,
    pii_policy_apply_many,
    pii_second_pass,
)
from cleanroom.residency import check_processing_allowed
from ingestion.budget import budget_check
from ingestion.chunking import ChunkText, chunk_sections
from ingestion.embeddings import embed, embedding_model_version, embedding_window, token_count
from ingestion.extraction import Extracted, ExtractionError, extract
from ingestion.findings import redaction_findings_save
from ingestion.index_embedder import EmbedderMismatch, index_embedder_check, index_embedder_claim
from ingestion.language import text_language
from ingestion.models import Chunk, Document, ReviewItem
from ingestion.quarantine import discard_raw, park_review_texts, quarantine_paths
from ingestion.steps import claims_heartbeat, document_fail, is_transient, steps_append, store_alias

logger = logging.getLogger(__name__)
Status = Document.Status


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
    second: dict[str, object] = field(default_factory=dict)  # the second pass, for the manifest
    extraction_manifest: dict[str, Any] = field(default_factory=dict)  # OCR'd pages, engine and version


def document_process(*, document_id: str, batch_size: int | None = None) -> list[str]:
    """Process `document_id` together with other queued documents of its tenant (up to `batch_size`), so that
    Presidio, the embedder and the database each see many documents at once. Safe to call twice: only a call
    that claims the document (queued → extracting) does any work. Returns the ids this call indexed."""
    limit = batch_size or settings.INGEST_BATCH_DOCUMENTS
    token = uuid.uuid4()
    # Before claiming anything: documents of a store whose vectors are another model's stay queued (the sweep sends
    # them again) until `manage.py reembed` has run.
    index_embedder_check(alias=store_alias())
    claimed = _claim(document_id, token, limit)
    if not claimed:
        return []
    try:
        with claims_heartbeat(claimed, token):  # the sweep takes back only what no live worker refreshes
            return _process_claimed(claimed, token)
    except BaseException as exc:
        if not isinstance(exc, Exception):  # Ctrl-C in `manage.py ingest`, a worker shutting down
            _release(claimed, token)
            raise
        transient = is_transient(exc)
        # Hand the documents back: after a database or broker fault the retried task claims them again (if the
        # database is gone too, the sweep does it later).
        try:
            _release(claimed, token)
        except Exception as release_exc:
            logger.warning("could not release documents (%s); the sweep will", type(release_exc).__name__)
            raise exc from None
        if transient or isinstance(exc, EmbedderMismatch):  # the index changed models meanwhile: queued again
            raise
        logger.error("batch of %d failed unexpectedly: %s", len(claimed), type(exc).__name__)
        if len(claimed) == 1:
            document = Document.objects.filter(pk=claimed[0]).first()
            if document is not None:
                message = f"Processing failed unexpectedly ({type(exc).__name__})."
                document_fail(document, None, "internal_error", message, statuses=(Status.QUEUED,))
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
    with transaction.atomic(using=store_alias()):
        candidates = list(
            Document.objects.select_for_update(skip_locked=True)
            .filter(tenant_id=target["tenant_id"], status=Status.QUEUED)
            .annotate(first=Case(When(pk=document_id, then=Value(0)), default=Value(1)))
            .order_by("first", "created_at")
            .values_list("pk", "size_bytes")[:limit]
        )
        if not candidates or str(candidates[0][0]) != str(document_id):
            return []  # another worker holds it
        chosen: list[uuid.UUID] = []
        total = 0
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
        status=status, step_started_at=timezone.now(), updated_at=timezone.now(), steps=steps_append(status)
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
        steps=steps_append(Status.QUEUED, note="released after a transient fault"),
    )


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
            document_fail(document, token, exc.code, exc.message)
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
            document_fail(document, token, exc.code, exc.message)
            continue
        except Exception as exc:
            if is_transient(exc):
                raise
            # The message of an arbitrary exception may quote document text: log and store only its type.
            logger.error("document %s failed in extraction: %s", document.pk, type(exc).__name__)
            document_fail(
                document, token, "internal_error", f"Text extraction failed unexpectedly ({type(exc).__name__})."
            )
            continue
        works.append(work)

    timings["extract"], clock = time.perf_counter() - clock, time.perf_counter()

    # redacting, then embedding; with INGEST_PIPELINE_DOCUMENTS set, in slices: while the embedder (torch or E5's C
    # engine, which release the GIL) works on one slice, this thread runs Presidio (single-threaded) on the next one.
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
                pending.append(embedder.submit(embed, inputs, kind="passage", batch_size=settings.EMBEDDING_BATCH_SIZE))
                ready.extend(redacted)
        vectors = np.concatenate([future.result() for future in pending]) if pending else np.zeros((0, 1))
    timings["redact"] = redact_seconds
    timings["embed_wait"], clock = time.perf_counter() - clock - redact_seconds, time.perf_counter()

    stored = _store(ready, vectors, token, policy)
    for document_id in stored:
        discard_raw(document_id)
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
        if is_transient(exc):
            raise
        chunked = [work for work in works if _redact_and_chunk(work, token)]
    else:
        chunked = [work for work, result in zip(works, results, strict=True) if _redact_and_chunk(work, token, result)]
    return _second_pass(chunked, token)


def _stored_texts(work: _Work) -> tuple[list[str], list[str]]:
    """What the document will store, as the leak scan later reads it: each chunk, each distinct heading, the
    title and the file name. Returns (texts, distinct headings)."""
    sections = list(dict.fromkeys(piece.section for piece in work.pieces))
    return [*(piece.text for piece in work.pieces), *sections, work.safe_title, work.safe_name], sections


def _second_pass(works: list[_Work], token: uuid.UUID) -> list[_Work]:
    """The stricter pass over what each document will store; documents it holds for review, or that a block
    action refuses, leave the batch here."""
    if not works:
        return []
    tenant = works[0].document.tenant
    decided = _review_decisions([work.document.pk for work in works])
    inputs = [_stored_texts(work) for work in works]
    try:
        outcomes: list[SecondPass | ServiceError] = pii_second_pass(
            tenant=tenant,
            batches=[texts for texts, _ in inputs],
            threshold=settings.LEAKSCAN_SCORE_THRESHOLD,
            decisions=[decided.get(work.document.pk, {}) for work in works],
        )
    except Exception as exc:
        if is_transient(exc) or len(works) == 1:
            raise
        return [kept for work in works for kept in _second_pass([work], token)]
    kept: list[_Work] = []
    for work, (texts, sections), outcome in zip(works, inputs, outcomes, strict=True):
        if isinstance(outcome, ServiceError):
            document_fail(work.document, token, outcome.code, outcome.message)
        elif outcome.held:
            _hold(work, token, texts, outcome)
        else:
            _second_take(work, sections, outcome)
            kept.append(work)
    return kept


def _second_take(work: _Work, sections: list[str], outcome: SecondPass) -> None:
    """Keep the second pass's rewriting, and add what it found to the document's counts and findings."""
    assert work.pii is not None
    out = outcome.result.texts
    n = len(work.pieces)
    relabel = dict(zip(sections, out[n : n + len(sections)], strict=True))
    work.pieces = [ChunkText(relabel[p.section], text) for p, text in zip(work.pieces, out[:n], strict=True)]
    work.safe_title, work.safe_name = out[-2], out[-1]
    counts = dict(work.counts)
    for entity_type, count in outcome.result.counts.items():
        counts[entity_type] = counts.get(entity_type, 0) + count
    work.counts = dict(sorted(counts.items()))
    known = {(f.entity_type, f.value_hash) for f in work.pii.findings}
    extra: list[Finding] = [f for f in outcome.result.findings if (f.entity_type, f.value_hash) not in known]
    work.pii = PolicyResult(work.texts, work.counts, [*work.pii.findings, *extra], work.pii.manifest, work.pii.spans)
    by_mode: dict[str, int] = {}
    for item in outcome.uncertain:
        name = item.decision or item.mode
        by_mode[name] = by_mode.get(name, 0) + 1
    work.second = {
        "threshold": settings.LEAKSCAN_SCORE_THRESHOLD,
        "counts": dict(sorted(outcome.result.counts.items())),
        "by_decision": dict(sorted(by_mode.items())),
    }


def _review_decisions(ids: list[uuid.UUID]) -> dict[uuid.UUID, Decisions]:
    decided: dict[uuid.UUID, Decisions] = {}
    rows = ReviewItem.objects.filter(document_id__in=ids).exclude(decision=ReviewItem.Decision.PENDING)
    for document_id, entity_type, digest, decision in rows.values_list(
        "document_id", "entity_type", "value_hash", "decision"
    ):
        decided.setdefault(document_id, {})[(entity_type, digest)] = decision
    return decided


def _hold(work: _Work, token: uuid.UUID, texts: list[str], outcome: SecondPass) -> None:
    """Park the document for review: its stored texts wait in quarantine beside the raw upload (they hold only
    what the second pass is unsure of), the uncertain values become review items, nothing is searchable."""
    document = work.document
    pending = [item for item in outcome.uncertain if item.pending]
    types: dict[str, int] = {}
    for item in pending:
        types[item.entity_type] = types.get(item.entity_type, 0) + 1
    park_review_texts(document.pk, texts)
    with transaction.atomic(using=store_alias()):
        now = timezone.now()
        updated = Document.objects.filter(pk=document.pk, claim_token=token, status__in=Document.IN_PROGRESS).update(
            status=Status.HELD,
            claim_token=None,
            # The second pass's output keeps every value it is unsure of redacted: safe to show in the queue.
            title=outcome.result.texts[-2][:300],
            filename=outcome.result.texts[-1][:255],
            redaction_counts=work.counts,
            chunk_count=0,
            updated_at=now,
            step_started_at=now,
            steps=steps_append(Status.HELD, note=f"{len(pending)} values to review"),
        )
        if not updated:
            return
        Chunk.objects.filter(document=document).delete()  # a re-run of an indexed document leaves the index
        ReviewItem.objects.filter(document=document, decision=ReviewItem.Decision.PENDING).delete()
        ReviewItem.objects.bulk_create(
            [
                ReviewItem(
                    tenant_id=document.tenant_id,
                    document=document,
                    text_index=item.text_index,
                    start=item.start,
                    end=item.end,
                    entity_type=item.entity_type,
                    score=item.score,
                    value_hash=item.value_hash,
                )
                for item in pending
            ],
            ignore_conflicts=True,
        )
        audit_record(
            tenant=document.tenant,
            actor=None,
            action="document.held",
            target=document,
            details={"pending": len(pending), "types": dict(sorted(types.items()))},
        )


def _redact_and_chunk(work: _Work, token: uuid.UUID, result: PolicyResult | ServiceError | None = None) -> bool:
    """Redact one document (unless `result` is its redaction already) and cut it into chunks; False (and the
    document failed) when that is impossible."""
    try:
        if isinstance(result, ServiceError):
            raise result
        _redaction_take(work, result or pii_policy_apply(tenant=work.document.tenant, texts=_redaction_input(work)))
    except ServiceError as exc:
        document_fail(work.document, token, exc.code, exc.message)
        return False
    except Exception as exc:
        if is_transient(exc):
            raise
        logger.error("document %s failed in redaction: %s", work.document.pk, type(exc).__name__)
        document_fail(work.document, token, "internal_error", f"Redaction failed unexpectedly ({type(exc).__name__}).")
        return False
    work.extracted = None  # drop the raw text as soon as it is no longer needed
    window, title = embedding_window(), work.safe_title
    work.pieces = chunk_sections(
        list(zip(work.labels, work.texts, strict=True)),
        target_words=settings.CHUNK_TARGET_WORDS,
        overlap_words=settings.CHUNK_OVERLAP_WORDS,
        # Measured as the embedder will read it: with the title and heading that embedding_text puts before it.
        fits=lambda label, piece: token_count(embedding_text(title, label, piece), kind="passage") <= window,
    )
    if not work.pieces:
        document_fail(work.document, token, "no_text", "No text was left to index after extraction.")
        return False
    return True


def _extract_one(work: _Work) -> None:
    raw_path, meta_path = quarantine_paths(work.document.pk)
    try:
        data = raw_path.read_bytes()
    except FileNotFoundError as exc:
        raise ServiceError("upload_missing", "The uploaded file is no longer available; upload it again.") from exc
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    work.filename = meta.get("filename", "")
    began = time.monotonic()
    extracted = extract(data, work.filename)
    budget_check(extracted, extract_seconds=time.monotonic() - began)  # too big: failed now, never retried
    first_label = next((s.label for s in extracted.sections if s.label and not s.label.startswith("page ")), "")
    work.title = meta.get("title") or first_label or work.filename.rsplit(".", 1)[0]
    work.extracted = extracted
    work.extraction_manifest = extracted.manifest


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
    languages = {work.document.pk: [text_language(piece.text) for piece in work.pieces] for work in works}
    stored: list[uuid.UUID] = []
    with transaction.atomic(using=store_alias()):
        # The vectors are the index's model's, and stay so until this commits (`reembed` waits for it).
        index_embedder_claim(alias=store_alias())
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
                    language=languages[work.document.pk][i],
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
                **work.extraction_manifest,
                "counts": work.counts,
                "languages": dict(Counter(languages[work.document.pk]).most_common()),
                "second_pass": work.second,
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
                steps=steps_append(Status.INDEXED),
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
