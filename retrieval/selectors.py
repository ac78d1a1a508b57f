from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import connections, router, transaction
from pgvector.django import CosineDistance

from cleanroom.tenants.models import Tenant
from ingestion.models import Chunk


@dataclass(frozen=True)
class ScoredChunk:
    chunk_id: int
    document_id: str
    title: str
    section: str
    text: str
    score: float  # cosine similarity, 1 = same direction


def chunk_search(*, tenant: Tenant, query_vector: np.ndarray, k: int) -> list[ScoredChunk]:
    """The tenant's k nearest chunks by cosine similarity, through the HNSW index.

    The index is shared by all tenants, so a plain filtered HNSW scan could stop before it found k chunks of a
    small tenant; pgvector's iterative scan keeps walking the graph until the filter has yielded enough rows.
    """
    alias = router.db_for_read(Chunk)  # the tenant's region store
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = 'relaxed_order'")
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(40, 2 * k)])
        rows = list(
            Chunk.objects.filter(tenant=tenant)
            .annotate(distance=CosineDistance("embedding", query_vector))
            .order_by("distance")
            .values("id", "document_id", "document__title", "section", "text", "distance")[:k]
        )
    # relaxed_order may return rows slightly out of order.
    rows.sort(key=lambda row: row["distance"])
    return [
        ScoredChunk(
            chunk_id=row["id"],
            document_id=str(row["document_id"]),
            title=row["document__title"],
            section=row["section"],
            text=row["text"],
            score=round(1.0 - float(row["distance"]), 4),
        )
        for row in rows
    ]
