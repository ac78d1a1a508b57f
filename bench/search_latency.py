"""Latency of chunk search (dense, lexical, hybrid) on a large shared table.

    python -m bench.search_latency [--chunks 100000] [--tenants 10] [--queries 200] [--keep]

Fills the table with synthetic chunks in tenants of very different sizes (geometric: the largest holds about half)
— Zipf-distributed words, random unit vectors (a worst case for HNSW: no cluster structure) — inserted in indexed
documents so that the database's triggers build the lexical index as in production. Then times `chunk_search`
(top 10, the question already embedded) for random questions against every tenant, and prints p50/p95 per mode
and tenant size. Tenants named bench-latency-* are reused with --keep, deleted otherwise.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

PREFIX = "bench-latency-"


def tenant_sizes(total: int, tenants: int) -> list[int]:
    weights = [0.5**i for i in range(tenants)]
    sizes = [max(5, int(total * w / sum(weights))) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def zipf_words(rng: np.random.Generator, vocabulary: int, n: int) -> list[str]:
    ranks = rng.zipf(1.3, size=n)
    return [f"term{int(r) % vocabulary}" for r in ranks]


def fill(slug: str, size: int, rng: np.random.Generator, vocabulary: int) -> None:
    from cleanroom.tenants.services import tenant_get_or_create
    from ingestion.models import Chunk, Document

    tenant = tenant_get_or_create(slug=slug)
    have = Chunk.objects.filter(tenant=tenant).count()
    if have >= size:
        return
    batch = 2000
    for start in range(have, size, batch):
        n = min(batch, size - start)
        document = Document.objects.create(
            tenant=tenant, media_type="text/plain", size_bytes=1, content_sha256="0" * 64, status="indexed"
        )
        vectors = rng.standard_normal((n, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        Chunk.objects.bulk_create(
            [
                Chunk(
                    tenant=tenant,
                    document=document,
                    ordinal=i,
                    text=" ".join(zipf_words(rng, vocabulary, int(rng.integers(100, 200)))),
                    embedding=vectors[i],
                )
                for i in range(n)
            ],
            batch_size=500,
        )
        print(f"  {slug}: {start + n}/{size}", flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--queries", type=int, default=200, help="questions per mode (spread over the tenants)")
    parser.add_argument("--vocabulary", type=int, default=30_000)
    parser.add_argument("--keep", action="store_true", help="keep the synthetic tenants for the next run")
    options = parser.parse_args(argv)

    from bench.retrieval import setup_django

    setup_django()
    from django.db import connection

    from cleanroom.tenants.models import Tenant
    from retrieval.selectors import chunk_search

    rng = np.random.default_rng(42)
    sizes = tenant_sizes(options.chunks, options.tenants)
    started = time.perf_counter()
    for i, size in enumerate(sizes):
        fill(f"{PREFIX}{i}", size, rng, options.vocabulary)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ingestion_chunk; ANALYZE retrieval_chunkterms; ANALYZE retrieval_tenantterm")
        cursor.execute("SELECT count(*) FROM ingestion_chunk")
        total = cursor.fetchone()[0]
    print(f"table: {total} chunks; tenants {sizes} (filled in {time.perf_counter() - started:.0f} s)")

    tenants = [Tenant.objects.get(slug=f"{PREFIX}{i}") for i in range(len(sizes))]
    try:
        for mode in ("dense", "lexical", "hybrid"):
            timings: dict[int, list[float]] = {i: [] for i in range(len(tenants))}
            for q in range(options.queries):
                i = q % len(tenants)
                query = " ".join(zipf_words(rng, options.vocabulary, 8))
                vector = rng.standard_normal(384).astype(np.float32)
                vector /= np.linalg.norm(vector)
                t = time.perf_counter()
                chunk_search(tenant=tenants[i], query=query, query_vector=vector, k=10, mode=mode)
                timings[i].append(1000 * (time.perf_counter() - t))
            every = [ms for values in timings.values() for ms in values]
            print(
                f"{mode:8s} all tenants: p50 {statistics.median(every):6.1f} ms  p95 {percentile(every, 0.95):6.1f} ms"
            )
            for i, values in timings.items():
                print(
                    f"           {sizes[i]:>6d} chunks: p50 {statistics.median(values):6.1f} ms  "
                    f"p95 {percentile(values, 0.95):6.1f} ms"
                )
    finally:
        if not options.keep:
            Tenant.objects.filter(slug__startswith=PREFIX).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
