"""Retrieval quality on a BEIR-format dataset (SciFact): dense only, lexical (BM25) only and hybrid.

    python -m bench.retrieval --dataset ../shared/eval/scifact --split test [--json]

The corpus is ingested through the real pipeline into a fresh tenant: `document_create` (upload checks, quarantine,
audit) and the real Celery task `process_document`, run in this process by Celery's eager mode (extraction,
redaction with the tenant's default rule, chunking, MiniLM, the indexing transaction and its triggers). Titles go
in as document titles, abstracts as text files. Questions go through the product's redaction before they are
searched. Nothing is cached on disk; the tenant is deleted at the end unless --keep.

Ingesting all of SciFact takes 10+ minutes on 2 cores. To tune on the train split without re-ingesting, keep the
tenant once and reuse it (documents already indexed, recognised by the SHA-256 of their bytes, are skipped):

    python -m bench.retrieval --dataset ... --split train --tenant scifact-bench --keep
    python -m bench.retrieval --dataset ... --split train --tenant scifact-bench --keep --rrf-k 30

Ranking is per document (a document ranks where its best chunk ranks). Metrics as in BEIR: nDCG@10 (graded gains
from the qrels), Recall@10, Recall@100, MRR@10, averaged over the queries that have judgements.

Any BEIR-format folder works: `--split NAME` reads queries_NAME.jsonl and qrels_NAME.tsv (`test`: queries.jsonl and
qrels.tsv). The Hindi set (bench/data/hindi, public-domain Premchand stories, see its SOURCES.md) has Hindi questions
(`--split test`) and English questions about the same Hindi passages (`--split en`); queries with a `half` field are
split into a tuning and a check half (`--half tune|check`: tune on the first, report the second).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("dense", "lexical", "hybrid")
RECALL_CHUNKS = 300  # chunks fetched to find 100 distinct documents
TOP_CHUNKS = 30  # chunks fetched for the @10 metrics


# --- metrics (pure) ----------------------------------------------------------------------------------------------
def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(i + 2) for i, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    wanted = {doc for doc, gain in relevant.items() if gain > 0}
    return len(wanted.intersection(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    for i, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def documents_in_order(document_ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(document_ids))


# --- dataset -----------------------------------------------------------------------------------------------------
def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        next(fh)  # header
        for line in fh:
            if line.strip():
                query_id, doc_id, score = line.rstrip("\n").split("\t")
                qrels.setdefault(query_id, {})[doc_id] = int(score)
    return qrels


def load_split(dataset: Path, split: str) -> tuple[list[dict], dict[str, dict[str, int]]]:
    suffix = "" if split == "test" else f"_{split}"
    queries = read_jsonl(dataset / f"queries{suffix}.jsonl")
    qrels = read_qrels(dataset / f"qrels{suffix}.tsv")
    return [q for q in queries if q["_id"] in qrels], qrels


def document_bytes(doc: dict) -> bytes:
    return doc.get("text", "").encode("utf-8")


# --- ingestion and search ----------------------------------------------------------------------------------------
def setup_django(*, eager: bool = True) -> None:
    # One thread for torch: on a shared, busy machine two spinning intra-op threads make MiniLM several times slower.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")
    import django

    from cleanroom.bootstrap import bootstrap

    bootstrap()  # data dir, keys, the embedded PostgreSQL: settings only read the environment

    django.setup()
    from django.core.management import call_command

    from cleanroom.celery import app

    call_command("migrate", interactive=False, verbosity=0)  # a fresh data dir has no tables yet

    # Without --workers, the real task runs where it is sent: no broker or worker process to manage.
    app.conf.task_always_eager = eager
    app.conf.task_eager_propagates = eager


def start_worker(concurrency: int, log) -> subprocess.Popen:  # noqa: ANN001
    """A real Celery worker on the configured broker, as `make run` starts one."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    from cleanroom.celery import worker_command

    command = worker_command(loglevel="WARNING", pool="prefork", concurrency=concurrency)
    log(f"starting a Celery worker ({concurrency} processes)")
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_until_processed(tenant, expected: int, log) -> None:  # noqa: ANN001
    from ingestion.models import Document

    waiting = Document.objects.filter(tenant=tenant, status__in=[Document.Status.QUEUED, *Document.IN_PROGRESS])
    last = -1
    while (left := waiting.count()) > 0:
        if left != last and (last - left >= 250 or last < 0):
            log(f"  {expected - left}/{expected} processed")
            last = left
        time.sleep(5)


def ingest(tenant, corpus: list[dict], log, workers: int = 0) -> dict[str, str]:  # noqa: ANN001
    """Ingest what is not yet indexed; return document id -> corpus id for everything indexed."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ingestion.models import Document
    from ingestion.tasks import process_document
    from ingestion.upload import document_create

    by_sha = {hashlib.sha256(document_bytes(doc)).hexdigest(): doc for doc in corpus}
    # An interrupted earlier run leaves documents queued (their tasks wait in the broker: a worker finishes them)
    # or stuck in processing (their task died with the run: those and failed ones are uploaded again).
    Document.objects.filter(tenant=tenant, status__in=[*Document.IN_PROGRESS, Document.Status.FAILED]).delete()
    statuses = dict(Document.objects.filter(tenant=tenant).values_list("content_sha256", "status"))
    todo = [doc for sha, doc in by_sha.items() if sha not in statuses and document_bytes(doc)]
    queued = sum(1 for status in statuses.values() if status == Document.Status.QUEUED)
    log(f"tenant {tenant.slug}: {len(statuses) - queued} documents indexed, {queued} queued; uploading {len(todo)}")
    if queued and not workers:
        sys.exit("documents of an earlier run are still queued: run again with --workers N to finish them")
    started = time.perf_counter()
    worker = start_worker(workers, log) if workers and (todo or queued) else None
    try:
        for i, doc in enumerate(todo, start=1):
            upload = SimpleUploadedFile(f"abstract-{i}.txt", document_bytes(doc), content_type="text/plain")
            document = document_create(tenant=tenant, user=None, upload=upload, title=doc.get("title", ""))
            if not worker:
                # The upload hands the document to the broker with send_task, which eager mode does not run here:
                # the real task runs in this process instead (the message left behind finds it done).
                process_document(str(document.pk))
            if not worker and (i % 250 == 0 or i == len(todo)):
                log(f"  {i}/{len(todo)} documents, {i / (time.perf_counter() - started):.1f}/s")
        if worker:
            wait_until_processed(tenant, len(todo) + queued, log)
    finally:
        if worker:
            worker.terminate()
            worker.wait(timeout=60)
    indexed = Document.objects.filter(tenant=tenant, status=Document.Status.INDEXED).values_list("pk", "content_sha256")
    failed = Document.objects.filter(tenant=tenant, status=Document.Status.FAILED).count()
    if failed:
        log(f"  {failed} documents failed to index")
    return {str(pk): by_sha[sha]["_id"] for pk, sha in indexed if sha in by_sha}


def evaluate(tenant, queries: list[dict], qrels, doc_map: dict[str, str], options, log) -> dict:  # noqa: ANN001
    from ingestion.embeddings import embed
    from retrieval.search import question_redact
    from retrieval.selectors import chunk_search

    sums = {mode: {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0} for mode in MODES}
    latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
    weights = tuple(float(w) for w in options.weights.split(","))
    for query in queries:
        redacted = question_redact(tenant=tenant, question=query["text"])
        vector = embed([redacted], kind="query")[0]
        relevant = qrels[query["_id"]]
        for mode in MODES:
            kwargs = {
                "tenant": tenant,
                "query": redacted,
                "query_vector": vector,
                "mode": mode,
                "rrf_k": options.rrf_k,
                "weights": weights,
                "bm25_params": (options.k1, options.b),
            }
            t = time.perf_counter()
            top = chunk_search(k=TOP_CHUNKS, depth=options.depth, **kwargs)
            latencies[mode].append(time.perf_counter() - t)
            deep = chunk_search(k=RECALL_CHUNKS, **kwargs)
            ranked = documents_in_order(doc_map.get(chunk.document_id, "") for chunk in top)
            ranked_deep = documents_in_order(doc_map.get(chunk.document_id, "") for chunk in deep)
            sums[mode]["ndcg@10"] += ndcg_at(ranked, relevant, 10)
            sums[mode]["mrr@10"] += mrr_at(ranked, relevant, 10)
            sums[mode]["recall@10"] += recall_at(ranked, relevant, 10)
            sums[mode]["recall@100"] += recall_at(ranked_deep, relevant, 100)
    n = max(len(queries), 1)
    for mode in MODES:
        ms = sorted(1000 * s for s in latencies[mode])
        if ms:
            p95 = ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]
            log(f"  {mode:8s} search latency: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms")
    return {mode: {name: round(value / n, 4) for name, value in values.items()} for mode, values in sums.items()}


def count_placeholders(tenant, doc_map: dict[str, str]) -> tuple[int, int, int]:  # noqa: ANN001
    """Indexed documents and chunks whose stored (redacted) text holds a placeholder such as <PERSON>, and all
    chunks: (documents with one, chunks with one, chunks)."""
    from cleanroom.pii.policy import PLACEHOLDER_RE
    from ingestion.models import Chunk

    documents, chunks, total = set(), 0, 0
    for document_id, text in Chunk.objects.filter(tenant=tenant).values_list("document_id", "text").iterator():
        if str(document_id) in doc_map:
            total += 1
            if PLACEHOLDER_RE.search(text):
                documents.add(document_id)
                chunks += 1
    return len(documents), chunks, total


def dump_rankings(tenant, queries: list[dict], doc_map: dict[str, str], path: Path, depth: int) -> None:  # noqa: ANN001
    """Each query's dense and lexical chunk rankings, `depth` deep, with their scores and corpus ids, as JSON lines:
    fusion can then be tuned offline on train without searching again."""
    from ingestion.embeddings import embed
    from retrieval.search import question_redact
    from retrieval.selectors import chunk_search

    with path.open("w", encoding="utf-8") as out:
        for query in queries:
            redacted = question_redact(tenant=tenant, question=query["text"])
            vector = embed([redacted], kind="query")[0]
            row: dict = {"_id": query["_id"]}
            for mode, score in (("dense", "score"), ("lexical", "rank_score")):
                found = chunk_search(
                    tenant=tenant, query=redacted, query_vector=vector, mode=mode, k=depth, per_document=None
                )
                row[mode] = [[c.chunk_id, doc_map.get(c.document_id, ""), getattr(c, score)] for c in found]
            out.write(json.dumps(row) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, required=True, help="folder with corpus.jsonl, queries, qrels")
    parser.add_argument(
        "--split", default="test", help="test (queries.jsonl, qrels.tsv) or NAME (queries_NAME.jsonl, qrels_NAME.tsv)"
    )
    parser.add_argument(
        "--half", choices=("tune", "check", "all"), default="all", help="only the queries of that `half`"
    )
    parser.add_argument("--tenant", help="tenant slug to ingest into and reuse (default: a fresh one)")
    parser.add_argument("--keep", action="store_true", help="keep the tenant and its documents afterwards")
    parser.add_argument(
        "--limit",
        type=int,
        help="quick check: the first N queries, over their relevant documents plus 10 N others",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    parser.add_argument("--depth", type=int, default=None, help="ranking depth fused by hybrid (default: product's)")
    parser.add_argument("--rrf-k", type=int, default=None, help="RRF constant (default: product's)")
    parser.add_argument("--weights", default="1,1", help="RRF weights dense,lexical")
    parser.add_argument("--k1", type=float, default=None, help="BM25 k1 (default: product's)")
    parser.add_argument("--b", type=float, default=None, help="BM25 b (default: product's)")
    parser.add_argument("--dump", type=Path, help="write each query's dense and lexical rankings here (JSON lines)")
    parser.add_argument(
        "--workers", type=int, default=0, help="ingest through a real Celery worker with N processes (default: eager)"
    )
    options = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    setup_django(eager=not options.workers)
    from cleanroom.tenants.models import Tenant
    from cleanroom.tenants.services import tenant_get_or_create
    from retrieval.fusion import BM25_B, BM25_K1, RRF_K

    options.rrf_k = options.rrf_k if options.rrf_k is not None else RRF_K
    options.k1 = options.k1 if options.k1 is not None else BM25_K1
    options.b = options.b if options.b is not None else BM25_B

    dataset = options.dataset.expanduser().resolve()
    corpus = read_jsonl(dataset / "corpus.jsonl")
    queries, qrels = load_split(dataset, options.split)
    if options.half != "all":
        queries = [q for q in queries if q.get("half", options.half) == options.half]
    if options.limit:
        queries = queries[: options.limit]
        wanted = {doc for q in queries for doc in qrels[q["_id"]]}
        others = [doc for doc in corpus if doc["_id"] not in wanted][: 10 * options.limit]
        corpus = [doc for doc in corpus if doc["_id"] in wanted] + others

    slug = options.tenant or f"bench-retrieval-{uuid.uuid4().hex[:8]}"
    tenant = tenant_get_or_create(slug=slug)
    try:
        started = time.perf_counter()
        doc_map = ingest(tenant, corpus, log, workers=options.workers)
        log(f"{len(doc_map)} documents indexed ({time.perf_counter() - started:.0f} s)")
        with_placeholder, chunks, total = count_placeholders(tenant, doc_map)
        log(f"{with_placeholder} of {len(doc_map)} documents ({chunks} of {total} chunks) hold a redaction placeholder")
        half = "" if options.half == "all" else f" ({options.half} half)"
        log(f"{len(queries)} {options.split} queries{half}; k1 {options.k1}, b {options.b}, RRF k {options.rrf_k}")
        if options.dump:
            dump_rankings(tenant, queries, doc_map, options.dump, depth=RECALL_CHUNKS)
            log(f"rankings of {len(queries)} queries written to {options.dump}")
            return 0
        results = evaluate(tenant, queries, qrels, doc_map, options, log)
    finally:
        if not options.keep:
            Tenant.objects.filter(pk=tenant.pk).delete()
    log(f"{'':10s}{'nDCG@10':>10s}{'Recall@10':>11s}{'Recall@100':>12s}{'MRR@10':>10s}")
    for mode in MODES:
        r = results[mode]
        log(f"{mode:10s}{r['ndcg@10']:10.4f}{r['recall@10']:11.4f}{r['recall@100']:12.4f}{r['mrr@10']:10.4f}")
    if options.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
