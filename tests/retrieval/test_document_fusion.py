"""Several chunks of one document do not fill the results: past `per_document`, a document's chunks come after
every other document's, and only fill the places that no other document takes."""

from __future__ import annotations

import pytest

from retrieval.fusion import RRF_K, cap_per_group, rrf_fuse
from retrieval.selectors import chunk_search
from tests.conftest import ingest


def test_the_cap_keeps_a_documents_best_chunks_in_order():
    fused = rrf_fuse([["a1", "a2", "a3", "b1"], ["a2", "a1", "b1"]], k=RRF_K)
    group_of = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
    capped = cap_per_group(fused, group_of, 2)
    assert [key for key, _ in capped] == ["a1", "a2", "b1", "a3"]  # a3 gave its place to another document
    assert [key for key, _ in cap_per_group(fused, group_of, None)] == [key for key, _ in fused]
    assert cap_per_group([("x", 3.0), ("y", 2.0), ("z", 1.0)], {"x": 1, "y": 1, "z": 2}, 1) == [
        ("x", 3.0),
        ("z", 1.0),
        ("y", 2.0),
    ]


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
    assert len(hits) == 4  # the long document's further chunks still fill the places no other document takes
    assert str(short_doc.pk) in documents[:3]  # but only after the short document
    assert documents[:3].count(str(long_doc.pk)) <= 2
    uncapped = chunk_search(
        tenant=alice.tenant, query="annual leave requests HR desk", k=4, mode=mode, per_document=None
    )
    assert [hit.document_id for hit in uncapped].count(str(long_doc.pk)) > 2  # what the cap prevents


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_tenant_with_one_document_gets_k_passages(alice, mode):
    document = ingest(alice, "long.txt", LONG_LEAVE, title="Leave handbook")
    assert document.chunk_count > 4
    hits = chunk_search(tenant=alice.tenant, query="annual leave requests HR desk", k=4, mode=mode)
    assert len(hits) == 4 and {hit.document_id for hit in hits} == {str(document.pk)}
