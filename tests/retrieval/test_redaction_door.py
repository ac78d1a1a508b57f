"""One redaction door (cleanroom/redaction.py): every path that takes text in rewrites it the same way, under the
tenant's whole policy: custom recognizers, allow-list and pseudonyms. Each path is held here."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from cleanroom.audit.models import AuditEvent
from cleanroom.policies.models import AllowTerm, CustomRecognizer, EntityRule, PiiAction
from cleanroom.redaction import pii_redact_text
from ingestion.leakscan import leakscan_run
from ingestion.models import Chunk
from tests.conftest import ingest

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"<PERSON_[0-9a-f]{8}>")
MEMO = (
    "Lab budget minutes.\n\nMeera Nair approved the budget for the Sahyadri centrifuge. Employee EMP-204311 placed "
    "the order with the supplier. Ravi Kumar, who founded the lab, attended the meeting.\n"
)
QUESTION = "What did Meera Nair approve for EMP-204311 when Ravi Kumar attended?"
RAW = ("Meera", "Nair", "204311")


@pytest.fixture
def policy(alice):
    EntityRule.objects.create(tenant=alice.tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)
    CustomRecognizer.objects.create(tenant=alice.tenant, label="EMPLOYEE_ID", pattern=r"\bEMP-\d{6}\b")
    AllowTerm.objects.create(tenant=alice.tenant, term="Ravi Kumar")  # the founder, named in the lab's name
    document = ingest(alice, "minutes.txt", MEMO.encode())
    chunk = document.chunks.get()
    token = TOKEN.findall(chunk.text)
    assert token and "Meera" not in chunk.text and "<EMPLOYEE_ID>" in chunk.text and "Ravi Kumar" in chunk.text
    return document, chunk, token[0]


def _bearer(actor) -> APIClient:  # noqa: ANN001 - tests.conftest.Actor
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {actor.key}")
    return client


def _assert_no_raw_in_audit() -> None:
    for event in AuditEvent.objects.all():
        for raw in RAW:
            assert raw not in str(event.details), (event.action, raw)


def test_search_query_and_openai_redact_alike_and_find_the_pseudonymised_person(alice, policy):
    document, chunk, token = policy
    expected = pii_redact_text(tenant=alice.tenant, text=QUESTION)
    assert token in expected and "<EMPLOYEE_ID>" in expected and "Ravi Kumar" in expected
    assert not any(raw in expected for raw in RAW)

    search = alice.client().post("/api/v1/search", {"query": QUESTION, "mode": "lexical"}, format="json")
    assert search.status_code == 200, search.content
    assert chunk.pk in [hit["chunk_id"] for hit in search.json()["results"]]
    query = alice.client().post("/api/v1/query", {"question": QUESTION}, format="json")
    assert query.status_code == 200, query.content
    chat = _bearer(alice).post(
        "/v1/chat/completions",
        {"model": settings.LLM_MODEL, "messages": [{"role": "user", "content": QUESTION}]},
        format="json",
    )
    assert chat.status_code == 200, chat.content

    searched = AuditEvent.objects.get(action="query.searched").details
    answered = list(AuditEvent.objects.filter(action="query.answered").order_by("pk"))
    assert len(answered) == 2  # the REST query and the OpenAI endpoint
    assert searched["query"] == expected
    assert [event.details["question"] for event in answered] == [expected, expected]
    assert chunk.pk in searched["chunk_ids"]
    assert all(chunk.pk in event.details["retrieved_chunk_ids"] for event in answered)
    _assert_no_raw_in_audit()


def test_hybrid_search_finds_the_pseudonymised_person_by_name(alice, charlie, policy):
    _, chunk, _ = policy
    ingest(alice, "other.txt", b"Canteen menu.\n\nThe canteen serves idli and dosa on Mondays and Thursdays.\n")
    response = alice.client().post("/api/v1/search", {"query": "Meera Nair", "top_k": 1}, format="json")
    assert response.status_code == 200, response.content
    assert [hit["chunk_id"] for hit in response.json()["results"]] == [chunk.pk]
    _assert_no_raw_in_audit()


def test_leak_scan_reads_through_the_door_custom_recognizers_yes_allow_list_no(alice, policy):
    document, chunk, _ = policy
    assert leakscan_run(tenant=alice.tenant) == []
    # A value that slipped in verbatim (say, from a version before the recognizer existed) is found; the
    # allow-listed founder, who is stored on purpose, is not.
    Chunk.objects.filter(pk=chunk.pk).update(text=chunk.text + " Badge EMP-777001 was issued to Ravi Kumar.")
    leaks = leakscan_run(tenant=alice.tenant)
    assert [(leak.chunk_id, leak.entity_type) for leak in leaks] == [(chunk.pk, "EMPLOYEE_ID")]
    report = AuditEvent.objects.filter(action="leakscan.completed").latest("pk").details
    assert report["counts"] == {"EMPLOYEE_ID": 1} and "777001" not in str(report)
