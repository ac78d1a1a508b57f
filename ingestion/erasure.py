"""Right to erasure for one data principal: every document that named them is found (by the keyed hashes
recorded at indexing, or a verbatim mention), re-redacted or removed, re-embedded where it changed; their vault
entries are destroyed, every table is scanned, and a receipt is stored and audited."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.extensions import ErasureRequest, erasure_hooks_run
from cleanroom.keys import tenant_hash_key
from cleanroom.pii.policy import identifier_hashes
from cleanroom.pii.redaction import placeholder
from cleanroom.policies.models import DenyTerm
from cleanroom.routing import current_alias, tenant_scope
from cleanroom.tenants.models import Tenant
from cleanroom.vault.models import ErasureReceipt, VaultEntry
from cleanroom.vault.services import identifier_pattern, identifier_scan
from ingestion.deletion import document_delete
from ingestion.embeddings import embed
from ingestion.index_embedder import index_embedder_hold
from ingestion.models import Chunk, Document, ReviewItem, ValueFinding
from ingestion.pipeline import embedding_text
from ingestion.quarantine import discard_raw, review_texts
from ingestion.steps import steps_append

ERASED = "<ERASED>"


def _rewrite(text: str, tokens: dict[str, str], pattern: re.Pattern[str]) -> str:
    for token, replacement in tokens.items():
        text = text.replace(token, replacement)
    return pattern.sub(ERASED, text)


@dataclass
class _Targets:
    """What one identifier reaches in a tenant's store: computed the same way for a preview and for the erasure."""

    hashes: set[str]
    fingerprint: str
    pattern: str
    python_pattern: re.Pattern[str]
    tokens: dict[str, str]  # pseudonym -> the plain placeholder that replaces it
    document_ids: set[Any]
    finding_ids: list[int]
    vault_ids: list[int]
    # Held for review: nothing indexed, but the raw upload and the texts to review wait in quarantine.
    held_ids: set[Any]
    deny_term_ids: list[int]

    def chunk_filter(self) -> Q:
        condition = Q(text__iregex=self.pattern)
        for token in self.tokens:
            condition |= Q(text__contains=token)
        return condition


def _extension_request(tenant: Tenant, targets: _Targets, mode: str, *, dry_run: bool) -> ErasureRequest:
    """What the stores of higher layers (conversations: cleanroom/extensions.py) need to find and rewrite the same."""
    return ErasureRequest(
        tenant=tenant,
        mode=mode,
        dry_run=dry_run,
        db_pattern=targets.pattern,
        pattern=targets.python_pattern,
        tokens=targets.tokens,
        replacement=ERASED,
        hashes=frozenset(targets.hashes),
    )


def _targets(*, tenant: Tenant, identifier: str, mode: str) -> _Targets:
    if mode not in {"redact", "remove"}:
        raise ServiceError("invalid_mode", "The erasure mode is 'redact' or 'remove'.")
    if len(identifier) < 3:
        raise ServiceError("invalid_identifier", "Give the identifier to erase (at least 3 characters).")
    hashes = identifier_hashes(tenant_hash_key(tenant.pk), identifier)
    pattern = identifier_pattern(identifier)
    # The identifier's own hashes, or a longer name-like detection that contains it as whole words.
    findings = list(
        ValueFinding.objects.filter(Q(value_hash__in=hashes) | Q(part_hashes__overlap=sorted(hashes)), tenant=tenant)
    )
    finding_tokens = {f.token for f in findings if f.token}
    vault = list(VaultEntry.objects.filter(Q(value_hash__in=hashes) | Q(token__in=finding_tokens), tenant=tenant))
    tokens = {f.token: placeholder(f.entity_type) for f in findings if f.token}
    tokens.update({v.token: placeholder(v.entity_type) for v in vault})
    document_ids: set[Any] = {f.document_id for f in findings}
    document_ids |= set(Chunk.objects.filter(tenant=tenant, text__iregex=pattern).values_list("document_id", flat=True))
    document_ids |= set(
        Document.objects.filter(Q(title__iregex=pattern) | Q(filename__iregex=pattern), tenant=tenant).values_list(
            "id", flat=True
        )
    )
    held = Document.objects.filter(tenant=tenant, status=Document.Status.HELD)
    held_ids = set(
        ReviewItem.objects.filter(tenant=tenant, value_hash__in=hashes, document__in=held).values_list(
            "document_id", flat=True
        )
    )
    compiled = re.compile(pattern, re.IGNORECASE)
    for document_id in held.exclude(pk__in=held_ids).values_list("pk", flat=True):
        if any(compiled.search(text) for text in review_texts(document_id) or []):
            held_ids.add(document_id)
    deny_term_ids = [term.pk for term in DenyTerm.objects.filter(tenant=tenant) if compiled.search(term.term)]
    return _Targets(
        hashes=hashes,
        fingerprint=hashlib.sha256("|".join(sorted(hashes)).encode()).hexdigest()[:16],
        pattern=pattern,
        python_pattern=compiled,
        tokens=tokens,
        document_ids=document_ids,
        finding_ids=[f.pk for f in findings],
        vault_ids=[v.pk for v in vault],
        held_ids=held_ids - document_ids,
        deny_term_ids=deny_term_ids,
    )


def _held_discard(tenant: Tenant, held_ids: set[Any], *, actor: User | AnonymousUser | None, mode: str) -> list[str]:
    """A held document naming the person cannot be rewritten (its text is still the raw upload): remove mode
    deletes it, redact mode discards its upload and texts to review and fails it, so that it can be uploaded again
    corrected."""
    done: list[str] = []
    for document in Document.objects.filter(tenant=tenant, pk__in=held_ids, status=Document.Status.HELD):
        done.append(str(document.pk))
        if mode == "remove":
            document_delete(tenant=tenant, user=actor, document=document)
            continue
        discard_raw(document.pk)
        ReviewItem.objects.filter(document=document).delete()
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.FAILED,
            error_code="erased",
            error_message="An erasure request discarded this document while it was held for review; upload it "
            "again if it is still needed.",
            updated_at=timezone.now(),
            steps=steps_append(Document.Status.FAILED, note="discarded by an erasure"),
        )
    return sorted(done)


def erasure_preview(
    *, tenant: Tenant, identifier: str, actor: User | AnonymousUser | None, mode: str = "redact"
) -> dict[str, Any]:
    """What `erasure_execute` would change, changing nothing: the documents it would remove (mode="remove") or
    the chunks it would rewrite (mode="redact"), and how many pseudonyms and vault entries it would destroy. Audited
    (counts and ids, never the identifier)."""
    with tenant_scope(tenant):
        targets = _targets(tenant=tenant, identifier=identifier.strip(), mode=mode)
        documents = sorted(str(d) for d in targets.document_ids)
        chunks = sorted(
            Chunk.objects.filter(targets.chunk_filter(), tenant=tenant, document_id__in=targets.document_ids)
            .values_list("pk", flat=True)
            .distinct()
        )
        plan: dict[str, Any] = {
            "tenant": tenant.slug,
            "mode": mode,
            "dry_run": True,
            "identifier_fingerprint": targets.fingerprint,
            "documents_matched": documents,
            "documents_to_remove": documents if mode == "remove" else [],
            "chunks_to_rewrite": chunks if mode == "redact" else [],
            "pseudonyms_to_replace": len(targets.tokens),
            "vault_entries_to_destroy": len(targets.vault_ids),
            "held_documents_to_discard": sorted(str(d) for d in targets.held_ids),
            "deny_terms_to_remove": len(targets.deny_term_ids),
            "extensions": erasure_hooks_run(_extension_request(tenant, targets, mode, dry_run=True)),
        }
    audit_record(tenant=tenant, actor=actor, action="erasure.previewed", details=plan)
    return plan


def erasure_execute(
    *,
    tenant: Tenant,
    identifier: str,
    actor: User | AnonymousUser | None,
    mode: str = "redact",
) -> ErasureReceipt:
    with tenant_scope(tenant):
        return _erasure_execute(tenant=tenant, identifier=identifier, actor=actor, mode=mode)


def _erasure_execute(
    *,
    tenant: Tenant,
    identifier: str,
    actor: User | AnonymousUser | None,
    mode: str,
) -> ErasureReceipt:
    """Right to erasure for one data principal.

    Finds every document that mentioned `identifier` through the keyed hashes recorded at indexing (plus any
    chunk or title where it survived verbatim), then either removes those documents (mode="remove") or re-redacts
    them (mode="redact": pseudonyms become plain placeholders, verbatim mentions become <ERASED>, changed chunks
    are re-embedded). Destroys the vault entries, scans every table, and returns a stored receipt.
    """
    identifier = identifier.strip()
    targets = _targets(tenant=tenant, identifier=identifier, mode=mode)
    hashes, tokens, document_ids = targets.hashes, targets.tokens, targets.document_ids
    fingerprint, python_pattern = targets.fingerprint, targets.python_pattern

    removed: list[str] = []
    rewritten_chunks: list[int] = []
    with transaction.atomic(using=current_alias()):
        if mode == "remove":
            for document in Document.objects.filter(tenant=tenant, pk__in=document_ids):
                removed.append(str(document.pk))
                document_delete(tenant=tenant, user=actor, document=document)
        else:
            changed = []
            for chunk in Chunk.objects.filter(
                targets.chunk_filter(), tenant=tenant, document_id__in=document_ids
            ).select_related("document"):
                chunk.text = _rewrite(chunk.text, tokens, python_pattern)
                changed.append(chunk)
            if changed:
                # The index's model, whatever the configuration says: erasure is not held up by a pending reembed,
                # and never mixes two models' vectors.
                model = index_embedder_hold(alias=current_alias())
                texts = [embedding_text(c.document.title, c.section, c.text) for c in changed]
                vectors = embed(texts, kind="passage", model=model)
                for chunk, vector in zip(changed, vectors, strict=True):
                    chunk.embedding = vector
                Chunk.objects.bulk_update(changed, ["text", "embedding"])
                rewritten_chunks = [c.pk for c in changed]
            for document in Document.objects.filter(tenant=tenant, pk__in=document_ids):
                title = _rewrite(document.title, tokens, python_pattern)
                filename = _rewrite(document.filename, tokens, python_pattern)
                if (title, filename) != (document.title, document.filename):
                    Document.objects.filter(pk=document.pk).update(title=title, filename=filename)
            ValueFinding.objects.filter(tenant=tenant, pk__in=targets.finding_ids).delete()
        discarded = _held_discard(tenant, targets.held_ids, actor=actor, mode=mode)
        deny_removed = DenyTerm.objects.filter(pk__in=targets.deny_term_ids).delete()[0]
        vault_destroyed = VaultEntry.objects.filter(tenant=tenant, pk__in=targets.vault_ids).delete()[0]
        # Other stores of the tenant's text (conversations), before the scan so that it verifies them too.
        extensions = erasure_hooks_run(_extension_request(tenant, targets, mode, dry_run=False))

        hits = identifier_scan(tenant=tenant, identifier=identifier, hashes=hashes, tokens=set(tokens))
        receipt_body: dict[str, Any] = {
            "tenant": tenant.slug,
            "mode": mode,
            "identifier_fingerprint": fingerprint,
            "completed_at": timezone.now().isoformat(),
            "documents_matched": sorted(str(d) for d in document_ids),
            "documents_removed": sorted(removed),
            "chunks_rewritten": sorted(rewritten_chunks),
            "pseudonyms_replaced": len(tokens),
            "vault_entries_destroyed": vault_destroyed,
            "held_documents_discarded": discarded,
            "deny_terms_removed": deny_removed,
            "extensions": extensions,
            "verification": {
                "scanned": "every text column of every table (this tenant's rows where a table is tenant-scoped)",
                "looked_for": "the identifier in any spacing or separators, its keyed hashes and its pseudonyms; "
                "its words in every decrypted vault value",
                "hits": [asdict(h) for h in hits],
                "clean": not hits,
            },
        }
        receipt = ErasureReceipt.objects.create(
            tenant=tenant,
            identifier_fingerprint=fingerprint,
            mode=mode,
            requested_by=actor.get_username() if actor is not None and actor.is_authenticated else "system",
            verified=not hits,
            receipt=receipt_body,
        )
        receipt_body["receipt_id"] = receipt.pk
        audit_record(tenant=tenant, actor=actor, action="erasure.completed", target=receipt, details=receipt_body)
    return receipt
