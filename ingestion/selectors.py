from __future__ import annotations

import uuid

from django.db.models import QuerySet

from cleanroom.tenants.models import Tenant
from ingestion.models import Chunk, Document


def document_list(*, tenant: Tenant, status: str | None = None) -> QuerySet[Document]:
    documents = Document.objects.filter(tenant=tenant).order_by("-created_at")
    if status:
        documents = documents.filter(status=status)
    return documents


def document_get(*, tenant: Tenant, document_id: str | uuid.UUID) -> Document | None:
    """The tenant's document, or None, whether it does not exist or belongs to someone else."""
    try:
        pk = uuid.UUID(str(document_id))
    except ValueError:
        return None
    return Document.objects.filter(tenant=tenant, pk=pk).first()


def chunk_list(*, tenant: Tenant, document: Document) -> QuerySet[Chunk]:
    return Chunk.objects.filter(tenant=tenant, document=document).order_by("ordinal")
