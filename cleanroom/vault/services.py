"""Writes for the vault: findings and pseudonyms at indexing time, audited reveals, erasure with a receipt,
retention purges and leak scans."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.pii.policy import PLACEHOLDER_RE, PolicyResult, identifier_hashes, select_spans
from cleanroom.pii.redaction import placeholder
from cleanroom.routing import current_alias, tenant_scope
from cleanroom.tenants.models import Tenant
from cleanroom.vault.keys import tenant_cipher, tenant_hash_key
from cleanroom.vault.models import ErasureReceipt, ValueFinding, VaultEntry

logger = logging.getLogger(__name__)

ERASED = "<ERASED>"


def redaction_findings_save(*, document: models.Model, result: PolicyResult) -> None:
    """Store, with an indexed document, the keyed hash of every value found in it and the encrypted value behind
    each pseudonym. Call inside the transaction that stores the document's chunks."""
    from ingestion.models import Chunk

    tenant_id = document.tenant_id  # type: ignore[attr-defined]
    cipher = tenant_cipher(tenant_id)
    tokens = {f.token for f in result.findings if f.token}
    chunks_by_token: dict[str, list[int]] = {token: [] for token in tokens}
    if tokens:
        for chunk_id, text in Chunk.objects.filter(document=document).values_list("id", "text"):
            for token in tokens & {m.group(0) for m in PLACEHOLDER_RE.finditer(text)}:
                chunks_by_token[token].append(chunk_id)
    vault = [
        VaultEntry(
            tenant_id=tenant_id,
            entity_type=f.entity_type,
            value_hash=f.value_hash,
            token=f.token,
            ciphertext=cipher.encrypt(f.value.encode()).decode(),
        )
        for f in result.findings
        if f.token
    ]
    VaultEntry.objects.bulk_create(vault, ignore_conflicts=True)
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
            )
            for f in result.findings
        ],
        ignore_conflicts=True,
    )


def vault_reveal(*, tenant: Tenant, token: str, actor: AbstractBaseUser | AnonymousUser | None) -> str:
    """The value behind `token`, for a user holding `vault.reveal_pseudonym`. Audited (the entry's id and type,
    never the value or the token, so that erasure leaves nothing in the append-only trail)."""
    if actor is None or not actor.is_authenticated or not actor.has_perm("vault.reveal_pseudonym"):
        audit_record(tenant=tenant, actor=actor, action="vault.reveal_refused", details={})
        raise ServiceError("permission_denied", "Revealing a pseudonym needs the reveal permission.", status_code=403)
    with tenant_scope(tenant):
        entry = VaultEntry.objects.filter(tenant=tenant, token=token.strip()).first()
    if entry is None:
        raise ServiceError("not_found", "No such pseudonym in this tenant's vault.", status_code=404)
    value = tenant_cipher(tenant.pk).decrypt(entry.ciphertext.encode()).decode()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="vault.revealed",
        target=entry,
        details={"entity_type": entry.entity_type},
    )
    return value


# --- Erasure ------------------------------------------------------------------------------------------------------


def identifier_pattern(identifier: str) -> str:
    """A PostgreSQL regular expression for the identifier as it may be written: digits with any separators
    (+91 98765-43210), words with any spacing or punctuation between them (Kavya  Iyer, kavya.iyer)."""
    identifier = identifier.strip()
    letters = re.sub(r"[^A-Za-z]", "", identifier)
    digits = re.sub(r"\D", "", identifier)
    if "@" not in identifier and not letters and len(digits) >= 6:
        core = digits[-10:] if len(digits) > 10 else digits
        return "[^0-9]{0,3}".join(core)
    words = re.findall(r"\w+", identifier)
    return r"\W{1,3}".join(words) if words else re.escape(identifier)


_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


@dataclass
class ScanHit:
    table: str
    column: str
    rows: int


def identifier_scan(*, tenant: Tenant, identifier: str, hashes: set[str], tokens: set[str]) -> list[ScanHit]:
    """Look for the identifier (any spelling), its keyed hashes and its pseudonyms in every text column of every
    table; rows of tenant-scoped tables are limited to this tenant."""
    pattern = identifier_pattern(identifier)
    needles = [*hashes, *tokens]
    hits: list[ScanHit] = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, _TEXT_FIELDS)]
        if not fields:
            continue
        queryset = model._default_manager.all()
        tenant_field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
        if tenant_field is not None:
            queryset = queryset.filter(tenant_id=tenant.pk)
        for f in fields:
            condition = Q(**{f"{f.name}__iregex": pattern})
            for needle in needles:
                condition |= Q(**{f"{f.name}__icontains": needle})
            rows = queryset.filter(condition).count()
            if rows:
                hits.append(ScanHit(model._meta.db_table, f.column, rows))
    return hits


def _rewrite(text: str, tokens: dict[str, str], pattern: re.Pattern[str]) -> str:
    for token, replacement in tokens.items():
        text = text.replace(token, replacement)
    return pattern.sub(ERASED, text)


def erasure_execute(
    *,
    tenant: Tenant,
    identifier: str,
    actor: AbstractBaseUser | AnonymousUser | None,
    mode: str = "redact",
) -> ErasureReceipt:
    with tenant_scope(tenant):
        return _erasure_execute(tenant=tenant, identifier=identifier, actor=actor, mode=mode)


def _erasure_execute(
    *,
    tenant: Tenant,
    identifier: str,
    actor: AbstractBaseUser | AnonymousUser | None,
    mode: str,
) -> ErasureReceipt:
    """Right to erasure for one data principal.

    Finds every document that mentioned `identifier` through the keyed hashes recorded at indexing (plus any
    chunk or title where it survived verbatim), then either removes those documents (mode="remove") or re-redacts
    them (mode="redact": pseudonyms become plain placeholders, verbatim mentions become <ERASED>, changed chunks
    are re-embedded). Destroys the vault entries, scans every table, and returns a stored receipt.
    """
    from cleanroom.embeddings import embed
    from ingestion.models import Chunk, Document
    from ingestion.services import document_delete, embedding_text

    if mode not in {"redact", "remove"}:
        raise ServiceError("invalid_mode", "The erasure mode is 'redact' or 'remove'.")
    identifier = identifier.strip()
    if len(identifier) < 3:
        raise ServiceError("invalid_identifier", "Give the identifier to erase (at least 3 characters).")
    key = tenant_hash_key(tenant.pk)
    hashes = identifier_hashes(key, identifier)
    fingerprint = hashlib.sha256("|".join(sorted(hashes)).encode()).hexdigest()[:16]
    pattern = identifier_pattern(identifier)
    python_pattern = re.compile(pattern, re.IGNORECASE)

    findings = list(ValueFinding.objects.filter(tenant=tenant, value_hash__in=hashes))
    vault = list(VaultEntry.objects.filter(tenant=tenant, value_hash__in=hashes))
    tokens = {f.token: placeholder(f.entity_type) for f in findings if f.token}
    tokens.update({v.token: placeholder(v.entity_type) for v in vault})
    document_ids = {f.document_id for f in findings}
    verbatim_chunks = Chunk.objects.filter(tenant=tenant, text__iregex=pattern).values_list("document_id", flat=True)
    document_ids |= set(verbatim_chunks)
    document_ids |= set(
        Document.objects.filter(Q(title__iregex=pattern) | Q(filename__iregex=pattern), tenant=tenant).values_list(
            "id", flat=True
        )
    )

    removed: list[str] = []
    rewritten_chunks: list[int] = []
    with transaction.atomic(using=current_alias()):
        if mode == "remove":
            for document in Document.objects.filter(tenant=tenant, pk__in=document_ids):
                removed.append(str(document.pk))
                document_delete(tenant=tenant, user=actor, document=document)  # type: ignore[arg-type]
        else:
            token_filter = Q(text__iregex=pattern)
            for token in tokens:
                token_filter |= Q(text__contains=token)
            changed = []
            for chunk in Chunk.objects.filter(token_filter, tenant=tenant, document_id__in=document_ids).select_related(
                "document"
            ):
                chunk.text = _rewrite(chunk.text, tokens, python_pattern)
                changed.append(chunk)
            if changed:
                vectors = embed([embedding_text(c.document.title, c.section, c.text) for c in changed])
                for chunk, vector in zip(changed, vectors, strict=True):
                    chunk.embedding = vector
                Chunk.objects.bulk_update(changed, ["text", "embedding"])
                rewritten_chunks = [c.pk for c in changed]
            for document in Document.objects.filter(tenant=tenant, pk__in=document_ids):
                title = _rewrite(document.title, tokens, python_pattern)
                filename = _rewrite(document.filename, tokens, python_pattern)
                if (title, filename) != (document.title, document.filename):
                    Document.objects.filter(pk=document.pk).update(title=title, filename=filename)
            ValueFinding.objects.filter(tenant=tenant, value_hash__in=hashes).delete()
        vault_destroyed = VaultEntry.objects.filter(tenant=tenant, value_hash__in=hashes).delete()[0]

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
            "verification": {
                "scanned": "every text column of every table (this tenant's rows where a table is tenant-scoped)",
                "looked_for": "the identifier in any spacing or separators, its keyed hashes and its pseudonyms",
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


# --- Retention ----------------------------------------------------------------------------------------------------


def retention_purge(*, now: Any = None) -> list[str]:
    """Delete every document older than its tenant's retention period; each purge is audited."""
    from cleanroom.policies.models import ResidencyRule
    from ingestion.models import Document
    from ingestion.services import document_delete

    now = now or timezone.now()
    purged: list[str] = []
    for rule in ResidencyRule.objects.filter(retention_days__isnull=False).select_related("tenant"):
        cutoff = now - timedelta(days=rule.retention_days)
        with tenant_scope(rule.tenant):
            expired = list(Document.objects.filter(tenant=rule.tenant, created_at__lt=cutoff))
        for document in expired:
            with tenant_scope(rule.tenant), transaction.atomic():
                created_at, document_id = document.created_at, str(document.pk)
                document_delete(tenant=rule.tenant, user=None, document=document)
                audit_record(
                    tenant=rule.tenant,
                    actor=None,
                    action="retention.purged",
                    details={
                        "document_id": document_id,
                        "created_at": created_at.isoformat(),
                        "retention_days": rule.retention_days,
                        "rule_id": rule.pk,
                    },
                )
            purged.append(document_id)
    return purged


# --- Leak scan ----------------------------------------------------------------------------------------------------


@dataclass
class Leak:
    document_id: str
    chunk_id: int | None  # None: the document's title or file name
    entity_type: str
    score: float


def leakscan_run(*, tenant: Tenant, threshold: float | None = None) -> list[Leak]:
    """Re-analyse every stored chunk, title and file name of `tenant` with a stricter pass (a lower score
    threshold) for the types its policy removes, and report what slipped through: positions, never values."""
    with tenant_scope(tenant):
        return _leakscan_run(tenant=tenant, threshold=threshold)


def _leakscan_run(*, tenant: Tenant, threshold: float | None) -> list[Leak]:
    from django.conf import settings

    from cleanroom.pii.engine import detect
    from cleanroom.pii.policy import custom_spans
    from cleanroom.policies.selectors import pii_policy
    from ingestion.models import Chunk, Document

    policy = pii_policy(tenant=tenant)
    threshold = threshold if threshold is not None else settings.LEAKSCAN_SCORE_THRESHOLD
    strict = type(policy)(
        tenant_id=policy.tenant_id,
        rule_id=policy.rule_id,
        treatments={k: type(v)(v.action, min(v.threshold, threshold)) for k, v in policy.treatments.items()},
        allow_terms=policy.allow_terms,
        recognizers=policy.recognizers,
    )

    def scan(text: str) -> list[Any]:
        spans = detect(text, entities=strict.detector_entities, score_threshold=strict.min_threshold)
        return select_spans(text, spans + custom_spans(text, strict.recognizers), strict)

    leaks: list[Leak] = []
    for chunk_id, document_id, text in (
        Chunk.objects.filter(tenant=tenant).values_list("id", "document_id", "text").iterator(chunk_size=500)
    ):
        leaks += [Leak(str(document_id), chunk_id, s.entity_type, round(s.score, 2)) for s in scan(text)]
    for document_id, title, filename in Document.objects.filter(tenant=tenant).values_list("id", "title", "filename"):
        for text in (title, filename):
            leaks += [Leak(str(document_id), None, s.entity_type, round(s.score, 2)) for s in scan(text)]
    counts: dict[str, int] = {}
    for leak in leaks:
        counts[leak.entity_type] = counts.get(leak.entity_type, 0) + 1
    audit_record(
        tenant=tenant,
        actor=None,
        action="leakscan.completed",
        details={
            "threshold": threshold,
            "policy_version": policy.version,
            "leaks": len(leaks),
            "counts": dict(sorted(counts.items())),
            "chunk_ids": sorted({leak.chunk_id for leak in leaks if leak.chunk_id is not None})[:500],
        },
    )
    return leaks
