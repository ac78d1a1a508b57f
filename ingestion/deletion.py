"""Deleting a document: its chunks and vectors go with it in one transaction, its quarantined bytes after."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.tenants.models import Tenant
from ingestion.models import Document
from ingestion.quarantine import discard_raw
from ingestion.steps import store_alias


def document_delete(*, tenant: Tenant, user: User | AnonymousUser | None, document: Document) -> None:
    if document.tenant_id != tenant.pk:
        raise ServiceError("not_found", "No such document.", status_code=404)
    document_pk = document.pk
    alias = document._state.db or store_alias()
    with transaction.atomic(using=alias):
        document.delete()  # chunks and their vectors go with it, in this transaction
        audit_record(
            tenant=tenant,
            actor=user,
            action="document.deleted",
            target=None,
            details={"document_id": str(document_pk)},
        )
        transaction.on_commit(lambda: discard_raw(document_pk), using=alias)
