"""The leak scan: every stored chunk, title and file name of a tenant goes through the one redaction door again,
with a stricter threshold (LEAKSCAN_SCORE_THRESHOLD), and what it would still rewrite is reported: positions and
types, never values."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.extensions import leakscan_sources
from cleanroom.policies.selectors import pii_policy
from cleanroom.redaction import SCAN, pii_policy_apply_many
from cleanroom.routing import tenant_scope
from cleanroom.tenants.models import Tenant
from ingestion.models import Chunk, Document

BLOCK_TEXTS = 500  # texts per detector pass: spaCy batches them, memory stays flat for any tenant size


@dataclass
class Leak:
    document_id: str  # "" for a text outside documents (see `source`)
    chunk_id: int | None  # None: the document's title or file name, or a text outside documents
    entity_type: str
    score: float
    source: str = "document"  # or what a higher layer registered (cleanroom/extensions.py): conversation_message …
    row_id: str = ""  # that text's row


def _scan_extensions(tenant: Tenant, threshold: float) -> list[Leak]:
    """Texts that higher layers store (conversations, feedback comments), read through the same door."""
    leaks: list[Leak] = []
    block: list[tuple[str, str, str]] = []

    def flush() -> None:
        for leak in _scan(tenant, threshold, [(f"{source}:{row_id}", None, text) for source, row_id, text in block]):
            source, _, row_id = leak.document_id.partition(":")
            leaks.append(Leak("", None, leak.entity_type, leak.score, source, row_id))
        block.clear()

    for item in leakscan_sources(tenant):
        block.append(item)
        if len(block) >= BLOCK_TEXTS:
            flush()
    if block:
        flush()
    return leaks


def leakscan_run(*, tenant: Tenant, threshold: float | None = None) -> list[Leak]:
    """Re-analyse every stored chunk, title and file name of `tenant` with a stricter pass (a lower score
    threshold) for the types its policy removes, and report what slipped through: positions, never values."""
    with tenant_scope(tenant):
        return _leakscan_run(tenant=tenant, threshold=threshold)


def _scan(tenant: Tenant, threshold: float, texts: list[tuple[str, int | None, str]]) -> list[Leak]:
    """`texts`: (document id, chunk id or None, text). Each text is its own batch, so spans stay per text."""
    results = pii_policy_apply_many(
        tenant=tenant, batches=[[text] for _, _, text in texts], purpose=SCAN, threshold=threshold
    )
    leaks: list[Leak] = []
    for (document_id, chunk_id, _), result in zip(texts, results, strict=True):
        if isinstance(result, ServiceError):  # not raised for purpose=SCAN; kept for the type checker
            continue
        leaks += [Leak(document_id, chunk_id, s.entity_type, round(s.score, 2)) for s in result.spans]
    return leaks


def _leakscan_run(*, tenant: Tenant, threshold: float | None) -> list[Leak]:
    threshold = threshold if threshold is not None else settings.LEAKSCAN_SCORE_THRESHOLD
    leaks: list[Leak] = []
    block: list[tuple[str, int | None, str]] = []
    for chunk_id, document_id, text in (
        Chunk.objects.filter(tenant=tenant).values_list("id", "document_id", "text").iterator(chunk_size=BLOCK_TEXTS)
    ):
        block.append((str(document_id), chunk_id, text))
        if len(block) >= BLOCK_TEXTS:
            leaks += _scan(tenant, threshold, block)
            block = []
    for document_id, title, filename in Document.objects.filter(tenant=tenant).values_list("id", "title", "filename"):
        block += [(str(document_id), None, title), (str(document_id), None, filename)]
    for start in range(0, len(block), BLOCK_TEXTS):
        leaks += _scan(tenant, threshold, block[start : start + BLOCK_TEXTS])
    leaks += _scan_extensions(tenant, threshold)
    counts: dict[str, int] = {}
    for leak in leaks:
        counts[leak.entity_type] = counts.get(leak.entity_type, 0) + 1
    audit_record(
        tenant=tenant,
        actor=None,
        action="leakscan.completed",
        details={
            "threshold": threshold,
            "policy_version": pii_policy(tenant=tenant).version,
            "leaks": len(leaks),
            "counts": dict(sorted(counts.items())),
            "chunk_ids": sorted({leak.chunk_id for leak in leaks if leak.chunk_id is not None})[:500],
            "other_rows": sorted({f"{leak.source}:{leak.row_id}" for leak in leaks if leak.row_id})[:500],
        },
    )
    return leaks
