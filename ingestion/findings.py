"""What indexing records for erasure: the keyed hash of every value a document mentioned (ValueFinding) and,
for pseudonyms, the encrypted value in the vault."""

from __future__ import annotations

from cleanroom.pii.policy import PLACEHOLDER_RE
from cleanroom.redaction import PolicyResult
from cleanroom.vault.services import vault_entries_store
from ingestion.models import Chunk, Document, ValueFinding


def redaction_findings_save(*, document: Document, result: PolicyResult) -> None:
    """Store, with an indexed document, the keyed hash of every value found in it and the encrypted value behind
    each pseudonym. Call inside the transaction that stores the document's chunks."""
    tenant_id = document.tenant_id
    tokens = {f.token for f in result.findings if f.token}
    chunks_by_token: dict[str, list[int]] = {token: [] for token in tokens}
    if tokens:
        for chunk_id, text in Chunk.objects.filter(document=document).values_list("id", "text"):
            for token in tokens & {m.group(0) for m in PLACEHOLDER_RE.finditer(text)}:
                chunks_by_token[token].append(chunk_id)
    vault_entries_store(tenant_id=tenant_id, findings=result.findings)
    ValueFinding.objects.filter(document=document).delete()
    ValueFinding.objects.bulk_create(
        [
            ValueFinding(
                tenant_id=tenant_id,
                document=document,
                entity_type=f.entity_type,
                action=f.action,
                value_hash=f.value_hash,
                token=f.token,
                chunk_ids=chunks_by_token.get(f.token, []),
                part_hashes=list(f.part_hashes),
            )
            for f in result.findings
        ],
        ignore_conflicts=True,
    )
