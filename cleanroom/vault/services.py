"""Writes and scans of the vault: pseudonyms' encrypted values, audited reveals, and the every-table scan that
verifies an erasure (the erasure itself lives with the documents it rewrites: ingestion/erasure.py)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import Q

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.pii.policy import Finding
from cleanroom.routing import tenant_scope
from cleanroom.tenants.models import Tenant
from cleanroom.vault.keys import tenant_cipher
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
                hits.append(ScanHit(model._meta.db_table, f.column or f.name, rows))
    return hits
