"""Fairness between tenants in one store's ingestion queue.

Every uploaded document sends one task message, and the broker serves messages first come, first served: a tenant
that uploads 5,000 files would otherwise make another tenant's single file wait for all of them. Any message can do
any queued work (claims make that safe), so a message takes the oldest queued document of the tenant served least
recently, which is its own document's tenant only when that tenant's turn has come. Each message still does one
batch of work, and there are as many messages as documents, so nothing is left behind (the sweep sends a message
again for any document queued too long)."""

from __future__ import annotations

from django.db.models import F, Min, OuterRef, Subquery

from ingestion.models import Document


def document_fair_pick(document_id: str) -> str:
    """The document the message of `document_id` should start its batch with (in the current store)."""
    queued = Document.objects.filter(status=Document.Status.QUEUED)
    last_served = (
        Document.objects.filter(tenant_id=OuterRef("tenant_id"), processing_started_at__isnull=False)
        .order_by("-processing_started_at")
        .values("processing_started_at")[:1]
    )
    turn = (
        queued.values("tenant_id")
        .annotate(oldest=Min("created_at"), served=Subquery(last_served))
        .order_by(F("served").asc(nulls_first=True), "oldest")
        .first()
    )
    if turn is None:
        return document_id
    own = queued.filter(pk=document_id).values_list("tenant_id", flat=True).first()
    if own == turn["tenant_id"]:
        return document_id
    first = queued.filter(tenant_id=turn["tenant_id"]).order_by("created_at").values_list("pk", flat=True).first()
    return str(first) if first is not None else document_id
