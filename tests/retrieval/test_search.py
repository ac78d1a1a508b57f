from __future__ import annotations

import math
import random

import numpy as np
import pytest
from django.db import connection

from bench.retrieval import mrr_at, ndcg_at, recall_at
from cleanroom.audit.models import AuditEvent
from cleanroom.tenants.models import Tenant
from ingestion.deletion import document_delete
from ingestion.models import Chunk, Document
from retrieval import selectors
from retrieval.fusion import bm25_idf, rrf_fuse, tsquery_any
from retrieval.models import ChunkTerms, TenantLexicon, TenantTerm
from retrieval.selectors import chunk_search
from tests.conftest import ingest

# --- pure parts --------------------------------------------------------------------------------------------------


def test_rrf_rewards_agreement_and_normalises_to_one():
    fused = rrf_fuse([["a", "b", "c"], ["a", "c", "d"]], k=60)
    assert [key for key, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1.0)
    assert all(0 < score <= 1 for _, score in fused)


def test_rrf_weights_favour_one_ranking():
    fused = rrf_fuse([["x", "y"], ["y", "x"]], k=1, weights=[3.0, 1.0])
    assert [key for key, _ in fused] == ["x", "y"]
    with pytest.raises(ValueError):
        rrf_fuse([["x"]], weights=[1.0, 2.0])


def test_tsquery_quotes_lexemes_so_nothing_is_parsed_as_syntax(db):
    lexemes = ["it's", "a|b", "back\\slash", "covid-19"]
    query = tsquery_any(lexemes)
    with connection.cursor() as cursor:
        cursor.execute("SELECT numnode(%s::tsquery)", [query])
        assert cursor.fetchone()[0] == 7  # four terms, three ORs
        for lexeme in [*lexemes, "a", "covid"]:
            cursor.execute("SELECT array_to_tsvector(ARRAY[%s]) @@ %s::tsquery", [lexeme, query])
            assert cursor.fetchone()[0] is (lexeme in lexemes), lexeme


def test_idf_is_positive_even_for_very_common_terms():
    assert bm25_idf(df=99, n=100) > 0
    assert bm25_idf(df=1, n=100) > bm25_idf(df=50, n=100)


def test_retrieval_metrics():
    relevant = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "x"], relevant, 10) == pytest.approx(1.0)
    assert ndcg_at(["x", "a"], {"a": 1}, 10) == pytest.approx(1 / math.log2(3))
    assert recall_at(["x", "a"], relevant, 100) == 0.5
    assert mrr_at(["x", "y", "b"], relevant, 10) == pytest.approx(1 / 3)
    assert mrr_at(["x"], relevant, 10) == 0.0


# --- lexical index maintained by the database ---------------------------------------------------------------------

LEAVE = (
    b"Leave policy.\n\nEmployees receive 24 days of annual leave. Sick leave is granted for up to 12 days per year "
    b"with a medical certificate.\n"
)
TRAVEL = b"Travel policy.\n\nEconomy class for flights under six hours. Hotels are booked through the travel desk.\n"


@pytest.mark.django_db
def test_indexed_document_gets_terms_and_tenant_statistics(alice):
    document = ingest(alice, "leave.txt", LEAVE, title="Leave rules")
    chunks = list(Chunk.objects.filter(document=document))
    terms = {row.chunk_id: row for row in ChunkTerms.objects.filter(tenant=alice.tenant)}
    assert set(terms) == {chunk.pk for chunk in chunks}
    row = terms[chunks[0].pk]
    assert row.tf["leav"] >= 3  # stemmed; title + text
    assert "rule" in row.tf  # the title is indexed with the chunk
    assert "the" not in row.tf and "of" not in row.tf  # stop words are not
    assert row.length == sum(row.tf.values())
    lexicon = TenantLexicon.objects.get(tenant=alice.tenant)
    assert lexicon.chunks == len(chunks) and lexicon.total_length == sum(r.length for r in terms.values())
    assert TenantTerm.objects.get(tenant=alice.tenant, term="sick").df == 1


@pytest.mark.django_db
def test_deleting_a_document_removes_its_terms_and_statistics(alice):
    leave = ingest(alice, "leave.txt", LEAVE)
    ingest(alice, "travel.txt", TRAVEL)
    assert TenantTerm.objects.get(tenant=alice.tenant, term="polici").df == 2
    document_delete(tenant=alice.tenant, user=alice.user, document=leave)
    assert not ChunkTerms.objects.filter(chunk__document_id=leave.pk).exists()
    assert TenantTerm.objects.get(tenant=alice.tenant, term="polici").df == 1
    assert not TenantTerm.objects.filter(tenant=alice.tenant, term="sick").exists()
    assert TenantLexicon.objects.get(tenant=alice.tenant).chunks == Chunk.objects.filter(tenant=alice.tenant).count()


@pytest.mark.django_db
def test_retitling_an_indexed_document_reindexes_its_title(alice):
    document = ingest(alice, "travel.txt", TRAVEL, title="Journeys")
    assert chunk_search(tenant=alice.tenant, query="journeys", k=5, mode="lexical")
    Document.objects.filter(pk=document.pk).update(title="Trips")
    assert not chunk_search(tenant=alice.tenant, query="journeys", k=5, mode="lexical")
    assert chunk_search(tenant=alice.tenant, query="trips", k=5, mode="lexical")[0].document_id == str(document.pk)


# --- search ------------------------------------------------------------------------------------------------------

VOCABULARY = [f"word{i}" for i in range(300)]


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _fill(tenant: Tenant, texts: list[str], vectors: np.ndarray) -> list[int]:
    """Chunks inserted directly (synthetic text and vectors), in documents that are already indexed."""
    document = Document.objects.create(
        tenant=tenant, title="", media_type="text/plain", size_bytes=1, content_sha256="0" * 64, status="indexed"
    )
    chunks = Chunk.objects.bulk_create(
        [
            Chunk(tenant=tenant, document=document, ordinal=i, text=text, embedding=vector)
            for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
        ],
        batch_size=1000,
    )
    return [chunk.pk for chunk in chunks]


def _reference_bm25(tenant: Tenant, query: str, k1: float = 0.9, b: float = 0.4) -> dict[int, float]:
    """BM25 computed here, from PostgreSQL's own tokens of every chunk of the tenant: what the index must match."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, u.lexeme, cardinality(u.positions) FROM ingestion_chunk c, "
            "unnest(to_tsvector('english', c.text)) u WHERE c.tenant_id = %s",
            [tenant.pk],
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT tsvector_to_array(to_tsvector('english', %s))", [query])
        terms = cursor.fetchone()[0]
    tf: dict[int, dict[str, int]] = {}
    for chunk_id, lexeme, count in rows:
        tf.setdefault(chunk_id, {})[lexeme] = count
    n = Chunk.objects.filter(tenant=tenant).count()
    avg = sum(sum(t.values()) for t in tf.values()) / n
    scores = {}
    for chunk_id, counts in tf.items():
        length = sum(counts.values())
        score = 0.0
        for term in terms:
            if term in counts:
                df = sum(1 for c in tf.values() if term in c)
                f = counts[term]
                score += bm25_idf(df=df, n=n) * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avg))
        if score:
            scores[chunk_id] = score
    return scores


@pytest.fixture
def shared_table(db):
    """A large tenant (3,000 chunks) sharing the table with a medium (150) and a tiny one (4).

    Each tenant's chunks are in one document: the searches here test the index, so they lift the per-document cap."""
    rng = np.random.default_rng(7)
    words = random.Random(7)
    big, medium, tiny = (Tenant.objects.create(slug=s, name=s, home_region="local") for s in ("big", "medium", "tiny"))

    def texts(n: int, extra: str = "") -> list[str]:
        return [" ".join(words.choices(VOCABULARY, k=words.randint(20, 60))) + extra for _ in range(n)]

    _fill(big, texts(3000, " common"), _unit(rng, 3000))
    _fill(medium, texts(150), _unit(rng, 150))
    tiny_texts = ["rare zebra common", "zebra zebra stripes", "common common common words", "nothing shared"]
    _fill(tiny, tiny_texts, _unit(rng, 4))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ingestion_chunk")
    return {"big": big, "medium": medium, "tiny": tiny, "rng": rng}


def _exact(tenant: Tenant, query: np.ndarray, k: int) -> list[int]:
    rows = list(Chunk.objects.filter(tenant=tenant).values_list("id", "embedding"))
    vectors = np.array([np.asarray(v) for _, v in rows])
    order = np.argsort(-(vectors @ query), kind="stable")[:k]
    return [rows[i][0] for i in order]


def test_small_tenant_gets_its_exact_nearest_neighbours(shared_table):
    tiny = shared_table["tiny"]
    for query in _unit(shared_table["rng"], 5):
        found = chunk_search(tenant=tiny, query_vector=query, k=10, mode="dense", per_document=None)
        assert [c.chunk_id for c in found] == _exact(tiny, query, 10)
        assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def test_tenant_walking_the_shared_hnsw_graph_keeps_its_recall(shared_table, monkeypatch):
    # Force the graph walk (iterative scan) for a tenant that holds 5% of the table.
    monkeypatch.setattr(selectors, "EXACT_SCAN_MAX_CHUNKS", 50)
    medium = shared_table["medium"]
    hits = 0
    queries = _unit(shared_table["rng"], 10)
    for query in queries:
        found = [
            c.chunk_id for c in chunk_search(tenant=medium, query_vector=query, k=10, mode="dense", per_document=None)
        ]
        assert len(found) == 10
        assert set(found) <= set(Chunk.objects.filter(tenant=medium).values_list("id", flat=True))
        hits += len(set(found) & set(_exact(medium, query, 10)))
    assert hits / (10 * len(queries)) >= 0.9


def test_lexical_search_is_bm25_over_the_tenants_own_statistics(shared_table):
    tiny = shared_table["tiny"]
    found = chunk_search(tenant=tiny, query="zebra common", k=10, mode="lexical", per_document=None)
    reference = _reference_bm25(tiny, "zebra common")
    assert [c.chunk_id for c in found] == sorted(reference, key=lambda chunk_id: -reference[chunk_id])
    for chunk in found:
        assert chunk.bm25 == pytest.approx(reference[chunk.chunk_id], abs=1e-3)
        assert chunk.rank_score == chunk.bm25
    # The big tenant's 3,000 chunks with "common" neither appear nor dilute the tiny tenant's idf.
    big_hits = chunk_search(tenant=shared_table["big"], query="common", k=5, mode="lexical", per_document=None)
    assert len(big_hits) == 5 and {c.chunk_id for c in big_hits}.isdisjoint(c.chunk_id for c in found)


def test_lexical_bm25_matches_reference_on_a_larger_tenant(shared_table):
    medium = shared_table["medium"]
    query = " ".join(VOCABULARY[:5])
    found = chunk_search(tenant=medium, query=query, k=20, mode="lexical", per_document=None)
    reference = _reference_bm25(medium, query)
    best = sorted(reference.values(), reverse=True)[:20]
    assert [c.bm25 for c in found] == pytest.approx(best, abs=1e-3)


def test_pruning_of_common_terms_keeps_the_exact_bm25_top(shared_table, monkeypatch):
    # A first pass over few candidates, so that the common words are pruned from candidate generation.
    monkeypatch.setattr(selectors, "SEED_CANDIDATES", 5)
    big = shared_table["big"]
    query = "common word1 word2 word250 word299"
    found = chunk_search(tenant=big, query=query, k=10, mode="lexical", per_document=None)
    reference = _reference_bm25(big, query)
    assert [c.bm25 for c in found] == pytest.approx(sorted(reference.values(), reverse=True)[:10], abs=1e-3)


def test_hybrid_finds_what_only_one_side_ranks_first(shared_table):
    tiny = shared_table["tiny"]
    vectors = dict(Chunk.objects.filter(tenant=tiny).values_list("text", "embedding"))
    # The vector points at "nothing shared"; the words point at the zebra chunks.
    found = chunk_search(
        tenant=tiny, query="zebra", query_vector=np.asarray(vectors["nothing shared"]), k=3, per_document=None
    )
    texts = [c.text for c in found]
    assert "nothing shared" in texts and "zebra zebra stripes" in texts
    assert found[0].rank_score == max(c.rank_score for c in found) <= 1.0
    assert all(-1.0 <= c.score <= 1.0 for c in found)


def test_empty_tenant_and_unknown_words_find_nothing(shared_table, charlie):
    assert chunk_search(tenant=charlie.tenant, query="zebra", k=5) == []
    assert chunk_search(tenant=shared_table["tiny"], query="qwertyuiop", k=5, mode="lexical", per_document=None) == []
    assert chunk_search(tenant=shared_table["tiny"], query="the of and", k=5, mode="lexical", per_document=None) == []


# --- API ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestSearchApi:
    def test_returns_ranked_chunks_without_an_answer(self, alice):
        leave = ingest(alice, "leave.txt", LEAVE, title="Leave rules")
        ingest(alice, "travel.txt", TRAVEL, title="Travel rules")
        response = alice.client().post("/api/v1/search", {"query": "How many days of sick leave?"}, format="json")
        assert response.status_code == 200
        results = response.json()["results"]
        assert results and set(results[0]) == {"document_id", "title", "chunk_id", "snippet", "score"}
        assert results[0]["document_id"] == str(leave.pk) and results[0]["title"] == "Leave rules"
        assert "Sick leave" in results[0]["snippet"]
        scores = [hit["score"] for hit in results]
        assert scores == sorted(scores, reverse=True) and scores[0] <= 1.0

    def test_modes_and_top_k(self, alice):
        ingest(alice, "leave.txt", LEAVE)
        ingest(alice, "travel.txt", TRAVEL)
        client = alice.client()
        for mode in ("dense", "lexical", "hybrid"):
            response = client.post("/api/v1/search", {"query": "hotels", "top_k": 1, "mode": mode}, format="json")
            assert response.status_code == 200, response.json()
            assert len(response.json()["results"]) == 1
            assert "Hotels" in response.json()["results"][0]["snippet"]

    def test_other_tenant_finds_nothing_of_alices(self, alice, charlie):
        ingest(alice, "leave.txt", LEAVE)
        response = charlie.client().post("/api/v1/search", {"query": "sick leave"}, format="json")
        assert response.status_code == 200 and response.json() == {"results": []}

    @pytest.mark.parametrize(
        "payload",
        [{}, {"query": ""}, {"query": "x", "top_k": 0}, {"query": "x", "top_k": 101}, {"query": "x", "mode": "magic"}],
    )
    def test_bad_input_gets_400(self, alice, payload):
        response = alice.client().post("/api/v1/search", payload, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_input"

    def test_needs_a_token(self, db):
        from rest_framework.test import APIClient

        assert APIClient().post("/api/v1/search", {"query": "x"}, format="json").status_code == 401

    def test_query_is_redacted_before_search_and_audit(self, alice):
        ingest(alice, "leave.txt", LEAVE)
        alice.client().post("/api/v1/search", {"query": "Sick leave for meera.k@example.com?"}, format="json")
        event = AuditEvent.objects.filter(action="query.searched").latest("id")
        assert "meera" not in str(event.details) and "<EMAIL_ADDRESS>" in event.details["query"]
        assert event.details["chunk_ids"]
