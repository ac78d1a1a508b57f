"""A question is rewritten exactly as the stored passages were, second (stricter) pass included."""

from __future__ import annotations

import pytest

from cleanroom.audit.models import AuditEvent
from ingestion.models import Chunk
from retrieval.search import question_redact
from tests.conftest import ingest

# Gene and vitamin names that the detector may read as licence numbers: whatever it decides, both sides must agree.
SENTENCE = "Activation of PPM1D enhances p53 function, and vitamin B12 lowers homocysteine in SU504 treated cells."


@pytest.mark.django_db
def test_question_is_rewritten_like_the_stored_passage(alice):
    document = ingest(alice, "claim.txt", SENTENCE.encode())
    stored = Chunk.objects.get(document=document).text
    assert question_redact(tenant=alice.tenant, question=SENTENCE) == stored


@pytest.mark.django_db
def test_question_keeps_plain_words_and_redacts_a_person(alice):
    redacted = question_redact(tenant=alice.tenant, question="Did Rajesh Kumar approve the annual leave policy?")
    assert "Rajesh" not in redacted and "annual leave policy" in redacted


@pytest.mark.django_db
def test_query_searches_and_audits_the_question_as_search_does(alice):
    """/api/v1/query and /api/v1/search share the door: the question /query audits is the stored passage's text."""
    document = ingest(alice, "claim.txt", SENTENCE.encode())
    stored = Chunk.objects.get(document=document).text
    response = alice.client().post("/api/v1/query", {"question": SENTENCE}, format="json")
    assert response.status_code == 200
    asked = AuditEvent.objects.filter(tenant=alice.tenant, action="query.answered").order_by("-id").first()
    assert asked is not None and asked.details.get("question") == stored
