"""Chunk search: dense (pgvector HNSW, cosine), lexical (BM25 inside PostgreSQL) and their fusion (the default)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from django.db import connections, router, transaction

from cleanroom.tenants.models import Tenant
from ingestion.embeddings import embed, similarity_scale
from ingestion.index_embedder import index_embedder_check
from ingestion.models import Chunk
from retrieval.fusion import (
    BM25_B,
    BM25_K1,
    RRF_K,
    bm25_idf,
    cap_per_group,
    rrf_fuse,
    sql_identifier,
    tsquery_any,
)

SearchMode = Literal["hybrid", "dense", "lexical"]
SEARCH_MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")

# How deep each ranking goes before fusion: fusing two top-k lists would lose chunks that one side ranks k+1..depth
# and the other ranks well (tuned on SciFact train; see bench/retrieval.py).
HYBRID_DEPTH = 100
# A tenant this small is scanned exactly (a few milliseconds); only above it does the shared HNSW graph pay off.
EXACT_SCAN_MAX_CHUNKS = 10_000
# Chunks scored by the first, pruning pass of BM25 (see _lexical_ranking).
SEED_CANDIDATES = 1000
# Chunks of one document among the results: a document with several matching chunks would otherwise crowd others
# out of the top k (and out of a question's context); a second one is kept for an answer that runs across a
# chunk boundary.
PER_DOCUMENT = 2
# A single ranking (dense or lexical) with a per-document cap is read this many times k deep.
SINGLE_DEPTH_FACTOR = 3


@dataclass(frozen=True)
class ScoredChunk:
    chunk_id: int
    document_id: str
    title: str
    section: str
    text: str
    score: float  # cosine similarity to the question on MiniLM's scale (similarity_scale): what thresholds use
    # What the results are ordered by: the fused score in (0, 1] for hybrid, BM25 for lexical, cosine for dense.
    rank_score: float = 0.0
    bm25: float | None = None  # None: the chunk shares no term with the question


@dataclass(frozen=True)
class _Lexicon:
    chunks: int
    total_length: int


def _vector_literal(vector: np.ndarray) -> str:
    # float32 -> float -> repr is exact, so the database compares with the very vector the model produced.
    return "[" + ",".join(map(repr, np.asarray(vector, dtype=np.float32).astype(float).tolist())) + "]"


def _connection():  # noqa: ANN202 - django.db.backends.base.base.BaseDatabaseWrapper
    # Tenants' chunks may live in another database (per region): ask the router, never assume the default.
    return connections[router.db_for_read(Chunk)]


def _lexicon(cursor: Any, tenant_id: int) -> _Lexicon:
    cursor.execute("SELECT chunks, total_length FROM retrieval_tenantlexicon WHERE tenant_id = %s", [tenant_id])
    row = cursor.fetchone()
    return _Lexicon(chunks=int(row[0]), total_length=int(row[1])) if row else _Lexicon(0, 0)


def _dense_ranking(cursor: Any, *, tenant_id: int, vector: str, n: int, tenant_chunks: int) -> list[tuple[int, int]]:
    """The tenant's n nearest chunks (id, document id), exactly.

    The HNSW graph is shared by all tenants. For a small tenant, a filtered graph walk could give up before it met
    n of its chunks, so it is scanned exactly instead (cheap at that size); adding 0 to the distance keeps the
    planner off the HNSW index. A large tenant walks the graph with pgvector's iterative scan, allowed to visit as
    many tuples as its share of the table makes necessary.
    """
    if tenant_chunks <= EXACT_SCAN_MAX_CHUNKS:
        cursor.execute(
            "SELECT id, document_id FROM ingestion_chunk WHERE tenant_id = %s "
            "ORDER BY (embedding <=> %s::vector) + 0 LIMIT %s",
            [tenant_id, vector, n],
        )
        return [(row[0], row[1]) for row in cursor.fetchall()]
    ef_search = min(max(40, 2 * n), 1000)
    # One round trip: the scan may visit about as many tuples as the tenant's share of the table makes necessary.
    cursor.execute(
        """
        SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),
               set_config('hnsw.ef_search', %s, true),
               set_config('hnsw.max_scan_tuples', least(2147483647, greatest(20000,
                   4 * %s * greatest(reltuples::bigint, %s) / %s))::text, true)
        FROM pg_class WHERE oid = 'ingestion_chunk'::regclass
        """,
        [str(ef_search), ef_search, tenant_chunks, tenant_chunks],
    )
    cursor.execute(
        "SELECT id, document_id, embedding <=> %s::vector AS distance FROM ingestion_chunk WHERE tenant_id = %s "
        "ORDER BY distance LIMIT %s",
        [vector, tenant_id, n],
    )
    # relaxed_order may return rows slightly out of order.
    return [(row[0], row[1]) for row in sorted(cursor.fetchall(), key=lambda row: row[2])]


def _column(lexeme: str) -> str:
    return sql_identifier(lexeme).replace("%", "%%")


def _bm25_top(
    cursor: Any,
    *,
    tenant_id: int,
    terms: list[tuple[str, float]],
    candidates: list[str],
    n: int,
    norm: tuple[float, float, float],
) -> list[tuple[int, float]]:
    """Score the tenant's chunks holding any of `candidates` by BM25 over all `terms` (lexeme, weight); best n."""
    # jsonb_to_record reads every needed frequency from one decompression of the jsonb value; a ->> per term
    # would decompress it once per term. Column names are the lexemes (with % doubled for the driver's
    # placeholders); names over PostgreSQL's 63-byte identifier limit would be truncated, so those few use ->>.
    in_record = [term for term, _ in terms if len(term.encode()) <= 63]
    columns = ", ".join(f"{_column(term)} float8" for term in in_record) or "_ float8"
    parts: list[str] = []
    params: list[float | str] = []
    for term, weight in terms:
        if term in in_record:
            tf = f"coalesce(x.{_column(term)}, 0)"
            params.append(weight)
        else:
            tf = "coalesce((ct.tf ->> %s)::float8, 0)"
            params += [weight, term, term]
        parts.append(f"%s::float8 * {tf} / ({tf} + l.norm)")
    score = " + ".join(parts)
    k1, b, avg_length = norm
    sql = f"""
        SELECT ct.chunk_id, {score} AS score
        FROM retrieval_chunkterms ct
        CROSS JOIN LATERAL jsonb_to_record(ct.tf) AS x({columns})
        CROSS JOIN LATERAL (
            SELECT %s::float8 * (1 - %s::float8 + %s::float8 * ct.length / %s::float8) AS norm
        ) AS l
        WHERE ct.tenant_id = %s AND ct.lexemes @@ %s::tsquery
        ORDER BY score DESC, ct.chunk_id
        LIMIT %s
    """  # noqa: S608 - lexemes go in as quoted identifiers, values as placeholders
    params += [k1, b, b, avg_length, tenant_id, tsquery_any(candidates), n]
    cursor.execute(sql, params)
    return [(row[0], float(row[1])) for row in cursor.fetchall()]


def _lexical_ranking(
    cursor: Any, *, tenant_id: int, query: str, n: int, lexicon: _Lexicon, k1: float, b: float
) -> list[tuple[int, float]]:
    """The tenant's n best chunks by BM25 over stemmed terms, with the tenant's own term statistics.

    Candidates come from the GIN index (chunks holding a query term); each is scored from its stored term
    frequencies and length, so no query scans the tenant's chunks or counts its terms. Common terms would make
    almost every chunk a candidate, so the search prunes as MaxScore does, exactly: a term contributes less than
    its weight idf * (k1 + 1) to any chunk, so once a first pass over the rarest terms has found n chunks scoring at
    least t, chunks holding only common terms whose weights sum to less than t cannot be in the top n.
    """
    if lexicon.chunks == 0 or not query.strip():
        return []
    cursor.execute(
        """
        SELECT q.lexeme, cardinality(q.positions), t.df
        FROM unnest(retrieval_query_tsvector(%s)) AS q
        JOIN retrieval_tenantterm t ON t.tenant_id = %s AND t.term = q.lexeme
        ORDER BY t.df, q.lexeme
        """,
        [query, tenant_id],
    )
    rows = cursor.fetchall()
    if not rows:
        return []
    # BM25: sum over query terms of qtf * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length)).
    terms = [(term, qtf * bm25_idf(df=df, n=lexicon.chunks) * (k1 + 1)) for term, qtf, df in rows]
    norm = (k1, b, max(lexicon.total_length / lexicon.chunks, 1.0))
    everything = [term for term, _ in terms]

    # First pass: the rarest terms, up to about SEED_CANDIDATES chunks holding them (at least one term).
    seed: list[str] = []
    rows_seen = 0
    for term, _, df in rows:
        if seed and rows_seen + df > SEED_CANDIDATES:
            break
        seed.append(term)
        rows_seen += df
    first = _bm25_top(cursor, tenant_id=tenant_id, terms=terms, candidates=seed, n=n, norm=norm)
    if len(seed) == len(terms):
        return first
    threshold = first[-1][1] if len(first) >= n else 0.0
    # Drop the most common terms while their weights sum to less than the threshold.
    essential, optional_weight = list(terms), 0.0
    while essential and optional_weight + essential[-1][1] < threshold:
        optional_weight += essential.pop()[1]
    candidates = [term for term, _ in essential] or everything
    if set(candidates) <= set(seed):
        return first
    return _bm25_top(cursor, tenant_id=tenant_id, terms=terms, candidates=candidates, n=n, norm=norm)


def _load(cursor: Any, *, tenant_id: int, ids: list[int], vector: str | None) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    similarity = "1 - (c.embedding <=> %s::vector)" if vector is not None else "NULL::float8"
    cursor.execute(
        f"""
        SELECT c.id, c.document_id, d.title, c.section, c.text, {similarity}
        FROM ingestion_chunk c JOIN ingestion_document d ON d.id = c.document_id
        WHERE c.tenant_id = %s AND c.id = ANY(%s)
        """,  # noqa: S608 - only placeholders are interpolated
        [*([vector] if vector is not None else []), tenant_id, ids],
    )
    return {
        row[0]: {
            "document_id": str(row[1]),
            "title": row[2],
            "section": row[3],
            "text": row[4],
            "similarity": float(row[5]) if row[5] is not None else 0.0,
        }
        for row in cursor.fetchall()
    }


def _documents_of(cursor: Any, *, tenant_id: int, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    cursor.execute(
        "SELECT id, document_id FROM ingestion_chunk WHERE tenant_id = %s AND id = ANY(%s)", [tenant_id, ids]
    )
    return dict(cursor.fetchall())


def chunk_search(
    *,
    tenant: Tenant,
    k: int,
    query: str = "",
    query_vector: np.ndarray | None = None,
    mode: SearchMode = "hybrid",
    depth: int | None = None,
    rrf_k: int = RRF_K,
    weights: tuple[float, float] = (1.0, 1.0),
    bm25_params: tuple[float, float] = (BM25_K1, BM25_B),
    per_document: int | None = PER_DOCUMENT,
) -> list[ScoredChunk]:
    """The tenant's k best chunks for a (redacted) question, at most `per_document` of one document (None: any).

    hybrid (the default) fuses the dense and the BM25 ranking of chunks, each taken `depth` deep, by reciprocal rank
    fusion (`weights` = dense, lexical); `bm25_params` = (k1, b). Without a query text only the dense side can run;
    without a vector the question is embedded here. (Fusing documents instead, each ranked where its best chunk is
    on each side, measured 0.011 nDCG@10 worse on SciFact train: a chunk that both sides agree on is the better
    evidence.)
    """
    if mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {mode!r}")
    if mode != "dense" and not query.strip():
        mode = "dense"
    vector = None
    if mode != "lexical" or query_vector is not None:
        # A question's vector against chunks of another embedder would rank nonsense without failing: refused
        # (EmbedderMismatch, 503) until `manage.py reembed`. Lexical search alone compares no vectors.
        index_embedder_check(alias=_connection().alias)
        if query_vector is None:
            query_vector = embed([query], kind="query")[0]
        vector = _vector_literal(query_vector)
    # A capped single ranking is read deeper than k, so that k chunks remain once a document's extras are dropped.
    single = k if per_document is None else SINGLE_DEPTH_FACTOR * k
    depth = max(k, depth if depth is not None else (HYBRID_DEPTH if mode == "hybrid" else single))

    connection = _connection()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        lexicon = _lexicon(cursor, tenant.pk)
        dense: list[tuple[int, int]] = []
        lexical: list[tuple[int, float]] = []
        if mode in ("dense", "hybrid"):
            # Chunks of documents indexed before the lexicon existed are still found: count them if it is empty.
            tenant_chunks = lexicon.chunks or Chunk.objects.using(connection.alias).filter(tenant=tenant).count()
            assert vector is not None  # set above for every mode but lexical
            dense = _dense_ranking(cursor, tenant_id=tenant.pk, vector=vector, n=depth, tenant_chunks=tenant_chunks)
        if mode in ("lexical", "hybrid"):
            lexical = _lexical_ranking(
                cursor, tenant_id=tenant.pk, query=query, n=depth, lexicon=lexicon, k1=bm25_params[0], b=bm25_params[1]
            )
        bm25 = dict(lexical)
        document_of = dict(dense)
        missing = [chunk_id for chunk_id, _ in lexical if chunk_id not in document_of]
        document_of.update(_documents_of(cursor, tenant_id=tenant.pk, ids=missing))
        ranked: list[tuple[int, float]]
        if mode == "hybrid":
            fused = rrf_fuse(
                [[chunk_id for chunk_id, _ in dense], [chunk_id for chunk_id, _ in lexical]], k=rrf_k, weights=weights
            )
            ranked = cap_per_group([item for item in fused if item[0] in document_of], document_of, per_document)
        elif mode == "lexical":
            ranked = cap_per_group([item for item in lexical if item[0] in document_of], document_of, per_document)
        else:
            ranked = cap_per_group([(chunk_id, 0.0) for chunk_id, _ in dense], document_of, per_document)
        ranked = ranked[:k]
        rows = _load(cursor, tenant_id=tenant.pk, ids=[chunk_id for chunk_id, _ in ranked], vector=vector)

    results = []
    for chunk_id, rank_score in ranked:
        row = rows.get(chunk_id)
        if row is None:  # deleted between the two statements
            continue
        # On MiniLM's scale whichever model made the vectors: the relevance thresholds are MiniLM's.
        similarity = round(similarity_scale(row["similarity"]), 4)
        results.append(
            ScoredChunk(
                chunk_id=chunk_id,
                document_id=row["document_id"],
                title=row["title"],
                section=row["section"],
                text=row["text"],
                score=similarity,
                rank_score=round(similarity if mode == "dense" else rank_score, 4),
                bm25=round(bm25[chunk_id], 4) if chunk_id in bm25 else None,
            )
        )
    return results
