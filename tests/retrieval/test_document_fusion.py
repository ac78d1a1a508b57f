"""Documents, not chunks, are what fusion ranks: several chunks of one document count once and are capped."""

from __future__ import annotations

import pytest

from retrieval.fusion import cap_per_group, rrf_fuse, rrf_fuse_grouped
from retrieval.selectors import chunk_search
from tests.conftest import ingest


def test_a_documents_extra_chunks_do_not_outvote_another_document():
    # Dense ranks three chunks of A before B's chunk; lexical ranks B first and A second.
    dense = [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("c1", "C")]
    lexical = [("b1", "B"), ("a1", "A"), ("c1", "C")]
    by_chunks = dict(rrf_fuse([[key for key, _ in dense], [key for key, _ in lexical]], k=1))
    assert by_chunks["a1"] > by_chunks["b1"]  # B's dense rank 4 is A's extra chunks, not a worse document
    fused = rrf_fuse_grouped([dense, lexical], k=1)
    scores = dict(fused)
    assert scores["a1"] == pytest.approx(scores["b1"])  # both documents rank (1, 2): a tie
    assert scores["a1"] == pytest.approx((1 / 2 + 1 / 3) / (2 / 2))  # divided by the best possible score
    assert [key for key, _ in fused][:3] == ["a1", "b1", "c1"]  # A's further chunks come after C
    assert scores["a2"] < scores["a1"] and all(0 < score <= 1 for score in scores.values())


def test_a_documents_best_chunk_carries_its_score_and_the_cap_holds():
    dense = [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B")]
    lexical = [("a2", "A"), ("a1", "A"), ("b1", "B")]
    fused = rrf_fuse_grouped([dense, lexical], k=60, per_group=2)
    keys = [key for key, _ in fused]
    assert keys[0] in ("a1", "a2") and fused[0][1] == pytest.approx(1.0)  # A is first in both rankings
    assert "a3" not in keys and {"a1", "a2", "b1"} == set(keys)
    assert cap_per_group([("x", 3.0), ("y", 2.0), ("z", 1.0)], {"x": 1, "y": 1, "z": 2}, 1) == [("x", 3.0), ("z", 1.0)]


LONG_LEAVE = "\n\n".join(
    f"Annual leave rule {i}. Employees on annual leave in region {i} must file leave requests with the HR desk "
    f"at least {i + 2} weeks ahead, and annual leave balances carry over for {i % 3 + 1} months." * 3
    for i in range(12)
).encode()
SHORT_LEAVE = b"Leave summary.\n\nAnnual leave requests go to the HR desk; annual leave is 24 days a year.\n"


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_long_document_does_not_fill_the_results(alice, mode):
    long_doc = ingest(alice, "long.txt", LONG_LEAVE, title="Leave handbook")
    short_doc = ingest(alice, "short.txt", SHORT_LEAVE, title="Leave summary")
    assert long_doc.chunk_count > 4
    hits = chunk_search(tenant=alice.tenant, query="annual leave requests HR desk", k=4, mode=mode)
    documents = [hit.document_id for hit in hits]
    assert documents.count(str(long_doc.pk)) <= 2
    assert str(short_doc.pk) in documents
    uncapped = chunk_search(
        tenant=alice.tenant, query="annual leave requests HR desk", k=4, mode=mode, per_document=None
    )
    assert [hit.document_id for hit in uncapped].count(str(long_doc.pk)) > 2  # what the cap prevents
