"""Retention: documents older than their tenant's retention period are deleted, each purge audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.policies.models import ResidencyRule
from cleanroom.routing import tenant_scope
from ingestion.deletion import document_delete
from ingestion.models import Document


def retention_purge(*, now: Any = None) -> list[str]:
    """Delete every document older than its tenant's retention period; each purge is audited."""
    now = now or timezone.now()
    purged: list[str] = []
    for rule in ResidencyRule.objects.filter(retention_days__isnull=False).select_related("tenant"):
        cutoff = now - timedelta(days=rule.retention_days or 0)  # the filter excludes None
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
