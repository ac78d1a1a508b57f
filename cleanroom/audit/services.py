from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, models, transaction
from django.utils import timezone

from cleanroom import rls
from cleanroom.audit.models import AuditEvent
from cleanroom.tenants.models import Tenant

GENESIS_HASH = "0" * 64
# One chain for the whole deployment; appends are serialised by this advisory lock so that no two entries
# claim the same predecessor.
_CHAIN_LOCK_KEY = 0x636C_6E72


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "tenant": event.tenant_slug,
        "actor": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "details": event.details,
        "created_at": event.created_at.isoformat(),
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def audit_record(
    *,
    tenant: Tenant | None,
    actor: User | AnonymousUser | None,
    action: str,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an entry. Callers pass ids, counts and redacted text only."""
    user = actor if actor is not None and actor.is_authenticated else None
    # System scope: the chain runs through every tenant's entries, and its last one may be another tenant's.
    with rls.system_scope(), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        last = AuditEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first()
        event = AuditEvent(
            tenant=tenant,
            tenant_slug=tenant.slug if tenant is not None else "",
            actor=user,
            # An id, not the username (personal data, and it would outlive the user's erasure in the hash chain);
            # the admin shows the user it points at for as long as the user exists.
            actor_label=f"user:{user.pk}" if user is not None else "system",
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            # Round-trip through JSON so that the hash covers exactly what the database will return.
            details=json.loads(json.dumps(details or {}, default=str)),
            created_at=timezone.now(),
            prev_hash=last or GENESIS_HASH,
        )
        event.entry_hash = entry_hash(event)
        event.save()
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify() -> ChainReport:
    """Walk the chain from the start: an edited entry breaks its own hash, a deleted one breaks the link."""
    problems: list[str] = []
    expected_prev = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        checked += 1
        if event.prev_hash != expected_prev:
            problems.append(f"entry {event.pk}: its predecessor is missing or was changed (the chain is broken)")
        if entry_hash(event) != event.entry_hash:
            problems.append(f"entry {event.pk}: its content was edited after it was written")
        expected_prev = event.entry_hash
    return ChainReport(checked=checked, problems=problems)
