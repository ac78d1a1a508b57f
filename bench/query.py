"""Query latency: retrieval p50/p95 per tenant size through the API, and answer time to first token and tokens/s.

    python -m bench.query [--chunks 100000] [--questions 40] [--answers 6] [--json]

Data: 10 tenants of very different sizes (100 … 40,000 chunks; 100,000 in all by default, scaled by --chunks), in
a database of its own (`bench_cleanroom`, kept between runs so the load happens once; --fresh rebuilds it). The
text is synthetic policy prose built from templates. Embedding 100,000 texts with MiniLM takes ~10 minutes on 2
cores, so a pool of distinct synthetic chunks (--pool, 1,200 by default) is embedded for real and every stored chunk
is a pool chunk with a record number appended and its vector perturbed by Gaussian noise (cosine ~0.97 to the
original) and re-normalised: the HNSW graph sees 100,000 distinct vectors with realistic neighbourhoods.
Chunks are inserted in bulk with the HNSW index dropped, then the index is rebuilt, as a bulk load would.

Retrieval latency is measured through HTTP handling in-process (Django's test client: URL routing, token
authentication, tenant resolution, question redaction, embedding, search, serialization; no socket). It uses
`POST /api/v1/search` when that endpoint exists, otherwise `POST /api/v1/query` with the relevance threshold set
above 1 so that it always abstains without calling a model (the same redact → embed → search path). The bare
selector (`chunk_search`) is timed as well, to separate the search from the rest.

Time to first token: `POST /api/v1/query` with `"stream": true` at the default top_k, from sending the request to
the first token event, with the default model and with the fast one (CLEANROOM_MODELS_DIR must hold them). The first
question per model loads it and is reported apart (cold). Tokens/s counts streamed tokens after the first one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from typing import Any

import numpy as np

SIZES = [100, 300, 1_000, 2_000, 4_000, 7_000, 10_000, 15_000, 20_600, 40_000]  # sums to 100,000
TOPICS = [
    "annual leave",
    "parental leave",
    "sick leave",
    "remote work",
    "expense claims",
    "travel booking",
    "laptop refresh",
    "password rotation",
    "data backups",
    "visitor access",
    "fire safety",
    "parking permits",
    "training budget",
    "overtime pay",
    "probation reviews",
    "notice periods",
    "software licences",
    "printer use",
    "meeting rooms",
    "canteen hours",
    "first aid",
    "whistleblowing",
    "gift acceptance",
    "conflicts of interest",
    "vendor onboarding",
    "invoice approval",
    "contract renewal",
    "incident reporting",
    "mobile phones",
    "shift swaps",
    "relocation support",
    "pension contributions",
    "health insurance",
    "bicycle scheme",
    "desk booking",
    "archive retention",
    "email retention",
    "customer complaints",
    "warehouse safety",
    "vehicle use",
]
FACETS = [
    ("approval limit", "{n} euros"),
    ("maximum duration", "{n} days"),
    ("notice required", "{n} working days"),
    ("review cycle", "every {n} months"),
    ("responsible team", "the {team} team"),
    ("request form", "form {code}"),
    ("annual allowance", "{n} units"),
    ("escalation contact", "the {team} desk"),
]
TEAMS = ["finance", "people", "security", "facilities", "legal", "IT", "procurement", "operations"]
FILLER = [
    "This section applies to all permanent and temporary staff.",
    "Exceptions must be documented and kept with the request.",
    "The policy is reviewed by the owning department once a year.",
    "Managers should explain the rules to new team members during onboarding.",
    "Questions about this section go to the intranet help page first.",
    "Earlier versions of this rule are archived and no longer apply.",
]
TENANT_PREFIX = "bench-q"


def synthetic_chunk(rng: random.Random) -> tuple[str, str, list[str]]:
    """A chunk about one topic: a few facts and some filler. Returns (topic, text, questions it answers)."""
    topic = rng.choice(TOPICS)
    sentences, questions = [], []
    for facet, template in rng.sample(FACETS, 4):
        code = f"{rng.choice('ABCDEF')}-{rng.randint(10, 99)}"
        value = template.format(n=rng.randint(2, 500), team=rng.choice(TEAMS), code=code)
        sentences.append(f"The {facet} for {topic} is {value}.")
        questions.append(f"What is the {facet} for {topic}?")
    sentences += rng.sample(FILLER, 2)
    rng.shuffle(sentences)
    return topic, f"{topic.capitalize()}. " + " ".join(sentences), questions


def setup_django(fresh: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")
    import django
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "bench_cleanroom"
    from cleanroom.bootstrap import bootstrap

    bootstrap()  # data dir, keys, the embedded PostgreSQL: settings only read the environment
    django.setup()
    from django.db import connection

    from cleanroom import rls

    rls.owner_mode_enter()  # the owner builds the database, the service's role uses it

    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=not fresh)

    rls.app_mode_enter()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def load(sizes: list[int], pool: int, seed: int) -> dict[str, Any]:
    from django.db import connection, transaction

    from cleanroom.tenants.models import Tenant
    from cleanroom.tenants.services import tenant_bootstrap
    from ingestion.embeddings import embed
    from ingestion.models import Chunk, Document

    tenants: dict[str, Any] = {}
    expected = {f"{TENANT_PREFIX}{i:02d}": size for i, size in enumerate(sizes)}
    present = {
        slug: Chunk.objects.filter(tenant__slug=slug).count()
        for slug in Tenant.objects.filter(slug__startswith=TENANT_PREFIX).values_list("slug", flat=True)
    }
    rng = random.Random(seed)
    texts = [synthetic_chunk(rng) for _ in range(pool)]
    if present != expected:
        Tenant.objects.filter(slug__startswith=TENANT_PREFIX).delete()
        started = time.perf_counter()
        vectors = embed([text for _, text, _ in texts], kind="passage")
        print(f"embedded a pool of {pool} synthetic chunks in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        index = next(i for i in Chunk._meta.indexes if i.name == "chunk_embedding_hnsw")
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {index.name}")
        noise_rng = np.random.default_rng(seed)
        started = time.perf_counter()
        for slug, size in expected.items():
            membership, _, _ = tenant_bootstrap(slug=slug, username=f"{slug}-user", role="viewer")
            tenant = membership.tenant
            with transaction.atomic():
                documents = Document.objects.bulk_create(
                    Document(
                        tenant=tenant,
                        title=f"Handbook part {d + 1}",
                        filename=f"part{d + 1}.txt",
                        media_type="text/plain",
                        size_bytes=0,
                        content_sha256="0" * 64,
                        status="indexed",
                    )
                    for d in range(max(1, size // 25))
                )
                for start in range(0, size, 5_000):
                    count = min(5_000, size - start)
                    picks = noise_rng.integers(0, pool, count)
                    noisy = vectors[picks] + noise_rng.normal(0, 0.012, (count, vectors.shape[1])).astype(np.float32)
                    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                    Chunk.objects.bulk_create(
                        (
                            Chunk(
                                tenant=tenant,
                                document=documents[(start + k) % len(documents)],
                                ordinal=(start + k) // len(documents),
                                text=f"{texts[p][1]} (Record {slug}-{start + k}.)",
                                embedding=noisy[k],
                            )
                            for k, p in enumerate(picks.tolist())
                        ),
                        batch_size=1_000,
                    )
        print(f"inserted {sum(sizes)} chunks in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
        with connection.schema_editor() as editor:
            editor.add_index(Chunk, index)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE ingestion_chunk")
        print(f"built the HNSW index in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    for slug in expected:
        membership, key, _ = tenant_bootstrap(slug=slug, username=f"{slug}-user", role="viewer")
        tenants[slug] = {"tenant": membership.tenant, "key": key, "size": expected[slug]}
    return {"tenants": tenants, "questions": [q for _, _, qs in texts for q in qs]}


def retrieval_path() -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("api:search")
    except NoReverseMatch:
        return reverse("api:query")


def measure_retrieval(data: dict[str, Any], questions: int, top_k: int) -> dict[str, Any]:
    from django.conf import settings
    from rest_framework.test import APIClient

    from cleanroom import rls
    from ingestion.embeddings import embed
    from retrieval.search import question_redact
    from retrieval.selectors import chunk_search

    path = retrieval_path()
    threshold = settings.MIN_RELEVANCE
    if path.endswith("/query"):
        settings.MIN_RELEVANCE = 1.01  # always abstain: no model, the redact → embed → search path only
    rng = random.Random(7)
    rows = []
    for slug, info in data["tenants"].items():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {info['key']}")
        asked = rng.sample(data["questions"], questions)
        payload = {"question": asked[0], "query": asked[0], "top_k": top_k}
        warm = client.post(path, payload, format="json")
        assert warm.status_code == 200, warm.content
        api_ms, search_ms, redact_ms, embed_ms = [], [], [], []
        for question in asked:
            t = time.perf_counter()
            response = client.post(path, {"question": question, "query": question, "top_k": top_k}, format="json")
            api_ms.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.content
            # The same path in parts: redaction of the question, its embedding, the search.
            t = time.perf_counter()
            redacted = question_redact(tenant=info["tenant"], question=question)
            redact_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            vector = embed([redacted], kind="query")[0]
            embed_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            with rls.tenant_scope(info["tenant"]):  # as in a request: the tenant's rows only
                found = chunk_search(tenant=info["tenant"], query=redacted, query_vector=vector, k=top_k)
            search_ms.append((time.perf_counter() - t) * 1000)
            assert len(found) == min(top_k, info["size"])
        rows.append(
            {
                "tenant": slug,
                "chunks": info["size"],
                "api_p50_ms": round(percentile(api_ms, 50), 1),
                "api_p95_ms": round(percentile(api_ms, 95), 1),
                "search_p50_ms": round(percentile(search_ms, 50), 1),
                "search_p95_ms": round(percentile(search_ms, 95), 1),
                "redact_p50_ms": round(percentile(redact_ms, 50), 1),
                "embed_p50_ms": round(percentile(embed_ms, 50), 1),
                "_api": api_ms,
            }
        )
    settings.MIN_RELEVANCE = threshold
    all_api = [v for row in rows for v in row.pop("_api")]
    return {"path": path, "rows": rows, "p50": percentile(all_api, 50), "p95": percentile(all_api, 95)}


def measure_answers(data: dict[str, Any], model: str, answers: int, top_k: int, max_tokens: int) -> dict[str, Any]:
    from django.conf import settings
    from rest_framework.test import APIClient

    from retrieval.llm import ModelUnavailable, answer_backend

    settings.LLM_MAX_ANSWER_TOKENS = max_tokens
    try:
        backend = answer_backend(model)
    except ModelUnavailable as exc:
        return {"model": model, "error": exc.message}
    info = next(iter(data["tenants"].values()))  # prompt size, not tenant size, decides time to first token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {info['key']}")
    rng = random.Random(11)
    ttft, rates, abstained = [], [], 0
    cold = None
    for number, question in enumerate(rng.sample(data["questions"], answers + 1)):
        t = time.perf_counter()
        response = client.post(
            "/api/v1/query",
            {"question": question, "top_k": top_k, "stream": True, "model": backend.model_id},
            format="json",
        )
        assert response.status_code == 200, response.content
        first = None
        tokens = 0
        final: dict[str, Any] = {}
        for block in response.streaming_content:
            text = block.decode()
            if text.startswith("event: token"):
                tokens += 1
                if first is None:
                    first = time.perf_counter() - t
            elif text.startswith("event: answer"):
                final = json.loads(text.split("data: ", 1)[1])
        total = time.perf_counter() - t
        if first is None:
            continue
        if number == 0:
            cold = first
            continue
        ttft.append(first)
        if tokens > 1:
            rates.append((tokens - 1) / max(total - first, 1e-6))
        abstained += bool(final.get("abstained"))
    return {
        "model": backend.model_id,
        "cold_ttft_s": round(cold, 2) if cold is not None else None,
        "ttft_p50_s": round(percentile(ttft, 50), 2),
        "ttft_p95_s": round(percentile(ttft, 95), 2),
        "tokens_per_s": round(statistics.median(rates), 1) if rates else None,
        "answers": len(ttft),
        "abstained": abstained,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000, help="total chunks, spread over 10 tenants")
    parser.add_argument("--pool", type=int, default=1_200, help="distinct synthetic chunks embedded for real")
    parser.add_argument("--questions", type=int, default=40, help="retrieval questions per tenant")
    parser.add_argument("--answers", type=int, default=6, help="answers per model (plus one cold)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64, help="answer length cap for the timing runs")
    parser.add_argument("--skip-answers", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="rebuild the benchmark database")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()

    setup_django(args.fresh)
    from django.conf import settings

    scale = args.chunks / sum(SIZES)
    sizes = [max(10, round(size * scale)) for size in SIZES]
    load_avg = os.getloadavg()[0]
    from cleanroom import rls

    rls.owner_mode_enter()  # the bulk load rebuilds the vector index: DDL, the owner's
    data = load(sizes, args.pool, seed=1)
    rls.app_mode_enter()
    retrieval = measure_retrieval(data, args.questions, args.top_k)
    print(f"retrieval through {retrieval['path']} (top_k={args.top_k}, {args.questions} questions per tenant)")
    print(
        f"{'tenant':<12}{'chunks':>8}{'api p50':>10}{'api p95':>10}{'search p50':>12}{'search p95':>12}"
        f"{'redact p50':>12}{'embed p50':>11}  (ms)"
    )
    for row in retrieval["rows"]:
        print(
            f"{row['tenant']:<12}{row['chunks']:>8}{row['api_p50_ms']:>10}{row['api_p95_ms']:>10}"
            f"{row['search_p50_ms']:>12}{row['search_p95_ms']:>12}{row['redact_p50_ms']:>12}{row['embed_p50_ms']:>11}"
        )
    print(f"all tenants: p50 {retrieval['p50']:.1f} ms, p95 {retrieval['p95']:.1f} ms")
    # Row-level security's cost: the same retrieval as the owner (a superuser, whom no policy applies to).
    rls.owner_mode_enter()
    without = measure_retrieval(data, args.questions, args.top_k)
    rls.app_mode_enter()
    again = measure_retrieval(data, args.questions, args.top_k)  # with RLS again: the machine's drift
    rls_cost = {
        "api_p95_ms_with": round(retrieval["p95"], 1),
        "api_p95_ms_without": round(without["p95"], 1),
        "api_p95_ms_with_again": round(again["p95"], 1),
        "search_p95_ms_with": round(percentile([r["search_p95_ms"] for r in again["rows"]], 50), 1),
        "search_p95_ms_without": round(percentile([r["search_p95_ms"] for r in without["rows"]], 50), 1),
    }
    print(
        f"row-level security: API p95 {rls_cost['api_p95_ms_with']} ms with"
        f" (again {rls_cost['api_p95_ms_with_again']}),"
        f" {rls_cost['api_p95_ms_without']} ms without; search p95 (median over tenants)"
        f" {rls_cost['search_p95_ms_with']} ms with, {rls_cost['search_p95_ms_without']} ms without"
    )
    answers: dict[str, Any] = {}
    if not args.skip_answers:
        for role, model in (("default", settings.LLM_MODEL), ("fast", settings.LLM_FAST_MODEL)):
            answers[role] = measure_answers(data, model, args.answers, args.top_k, args.max_tokens)
            print(f"{role} model: {answers[role]}")
    print(f"load average at start: {load_avg:.2f} (shared machine)")
    if args.json:
        default, fast = answers.get("default", {}), answers.get("fast", {})
        print(
            json.dumps(
                {
                    "retrieval_p50_ms": round(retrieval["p50"], 1),
                    "retrieval_p95_ms": round(retrieval["p95"], 1),
                    "ttft_p50_s": default.get("ttft_p50_s"),
                    "tokens_per_s": default.get("tokens_per_s"),
                    "fast_ttft_p50_s": fast.get("ttft_p50_s"),
                    "retrieval_path": retrieval["path"],
                    "rls": rls_cost,
                    "chunks": sum(sizes),
                    "load_average": round(load_avg, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
