"""Writes and scans of the vault: pseudonyms' encrypted values, audited reveals, and the every-table scan that
verifies an erasure (the erasure itself lives with the documents it rewrites: ingestion/erasure.py)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.keys import tenant_cipher
from cleanroom.pii.policy import Finding, name_words
from cleanroom.redaction import pii_redact_text
from cleanroom.routing import tenant_scope
from cleanroom.tenants.models import Tenant
from cleanroom.vault.models import VaultEntry

logger = logging.getLogger(__name__)


def vault_entries_store(*, tenant_id: int, findings: list[Finding]) -> None:
    """Encrypt the value behind each pseudonym of `findings` into the tenant's vault (once per value)."""
    cipher = tenant_cipher(tenant_id)
    VaultEntry.objects.bulk_create(
        [
            VaultEntry(
                tenant_id=tenant_id,
                entity_type=f.entity_type,
                value_hash=f.value_hash,
                token=f.token,
                ciphertext=cipher.encrypt(f.value.encode()).decode(),
            )
            for f in findings
            if f.token
        ],
        ignore_conflicts=True,
    )


REVEAL_REASON_MAX_LENGTH = 500


def vault_reveal(*, tenant: Tenant, token: str, actor: User | AnonymousUser | None, reason: str) -> str:
    """The value behind `token`, for a user holding `vault.reveal_pseudonym` who says why. Audited: the entry's id
    and type and the reason (capped at 500 characters), never the value or the token, so that erasure leaves
    nothing of them in the append-only trail. The reason goes through the redaction door first: an officer who names
    the person in it leaves a placeholder in the trail, not the name."""
    if actor is None or not actor.is_authenticated or not actor.has_perm("vault.reveal_pseudonym"):
        audit_record(tenant=tenant, actor=actor, action="vault.reveal_refused", details={})
        raise ServiceError("permission_denied", "Revealing a pseudonym needs the reveal permission.", status_code=403)
    reason = (reason or "").strip()[:REVEAL_REASON_MAX_LENGTH]
    if not reason:
        raise ServiceError("reason_required", "Say why the value is needed: a reveal needs a reason.", status_code=400)
    with tenant_scope(tenant):
        entry = VaultEntry.objects.filter(tenant=tenant, token=token.strip()).first()
    if entry is None:
        raise ServiceError("not_found", "No such pseudonym in this tenant's vault.", status_code=404)
    reason = pii_redact_text(tenant=tenant, text=reason)
    value = tenant_cipher(tenant.pk).decrypt(entry.ciphertext.encode()).decode()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="vault.revealed",
        target=entry,
        details={"entity_type": entry.entity_type, "reason": reason},
    )
    return value


# --- Erasure verification ------------------------------------------------------------------------------------------


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


ROW_IDS_LISTED = 20


@dataclass
class ScanHit:
    table: str
    column: str
    rows: int
    row_ids: list[str]  # the first ROW_IDS_LISTED, never the values


def _contains_name(value: str, words: list[str]) -> bool:
    """Whether `words` (name_words of an identifier) run, whole, through name_words of `value`."""
    have = name_words(value)
    return bool(words) and any(have[i : i + len(words)] == words for i in range(len(have) - len(words) + 1))


def identifier_scan(*, tenant: Tenant, identifier: str, hashes: set[str], tokens: set[str]) -> list[ScanHit]:
    """Look for the identifier (any spelling), its keyed hashes and its pseudonyms in every text and text-array
    column of every table, rows of tenant-scoped tables limited to this tenant; and for the identifier's words in
    every decrypted value of the tenant's vault (a longer detection such as "Contact Meera Pillai" included)."""
    pattern = identifier_pattern(identifier)
    needles = [*hashes, *tokens]
    hits: list[ScanHit] = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, _TEXT_FIELDS)]
        arrays = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, ArrayField) and isinstance(f.base_field, models.CharField)
        ]
        if not fields and not arrays:
            continue
        queryset = model._default_manager.all()
        tenant_field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
        if tenant_field is not None:
            queryset = queryset.filter(tenant_id=tenant.pk)
        for f in fields:
            condition = Q(**{f"{f.name}__iregex": pattern})
            for needle in needles:
                condition |= Q(**{f"{f.name}__icontains": needle})
            hits += _hit(model, f, queryset.filter(condition))
        for array in arrays:
            hits += _hit(model, array, queryset.filter(**{f"{array.name}__overlap": needles})) if needles else []
    words = name_words(identifier)
    cipher = tenant_cipher(tenant.pk)
    remaining = [
        str(pk)
        for pk, ciphertext in VaultEntry.objects.filter(tenant=tenant).values_list("pk", "ciphertext")
        if _contains_name(cipher.decrypt(ciphertext.encode()).decode(), words)
    ]
    if remaining:
        hits.append(ScanHit(VaultEntry._meta.db_table, "ciphertext", len(remaining), remaining[:ROW_IDS_LISTED]))
    return hits


def _hit(model: type[models.Model], field: models.Field, matches: models.QuerySet) -> list[ScanHit]:
    rows = matches.count()
    if not rows:
        return []
    ids = [str(pk) for pk in matches.order_by("pk").values_list("pk", flat=True)[:ROW_IDS_LISTED]]
    return [ScanHit(model._meta.db_table, field.column or field.name, rows, ids)]
