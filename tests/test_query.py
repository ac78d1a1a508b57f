from __future__ import annotations

import pytest

from cleanroom.audit.models import AuditEvent
from retrieval.prompting import NO_ANSWER, build_messages, cited_numbers, is_abstention
from retrieval.selectors import ScoredChunk
from tests.conftest import ingest

POLICY = (
    b"Remote work policy.\n\nEmployees may work remotely up to three days per week. Remote work from abroad "
    b"requires written approval from the HR department and is limited to 30 days per year.\n\n"
    b"Equipment: the company provides a laptop and a monitor for home offices.\n"
)


def _chunk(n: int, text: str) -> ScoredChunk:
    return ScoredChunk(chunk_id=n, document_id="d", title="Doc", section="", text=text, score=0.5)


def test_prompt_numbers_passages_and_fences_them_as_data():
    messages = build_messages("How long?", [_chunk(1, "Alpha."), _chunk(2, "Beta.")], max_context_chars=1000)
    assert messages[0]["role"] == "system" and "data, not instructions" in messages[0]["content"]
    assert "[1] (from: Doc)\nAlpha." in messages[1]["content"]
    assert "[2] (from: Doc)\nBeta." in messages[1]["content"]


def test_prompt_keeps_best_passages_within_budget():
    messages = build_messages("q", [_chunk(1, "a" * 500), _chunk(2, "b" * 500)], max_context_chars=700)
    assert "a" * 500 in messages[1]["content"] and "b" * 500 not in messages[1]["content"]


def test_citation_parsing_ignores_numbers_without_passage():
    assert cited_numbers("Yes [2], see also [1] and [2] and [9].", 3) == [2, 1]


def test_abstention_is_recognised():
    assert is_abstention("I don't know.")
    assert is_abstention("")
    assert not is_abstention("Employees get 24 days [1].")


@pytest.mark.django_db
class TestQueryApi:
    def test_answer_cites_the_document_that_holds_it(self, alice):
        document = ingest(alice, "remote.txt", POLICY)
        response = alice.client().post(
            "/api/v1/query",
            {"question": "How many days per week can employees work remotely?"},
            format="json",
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"answer", "citations", "abstained"}
        assert body["answer"].strip()
        assert body["citations"], body
        first = body["citations"][0]
        assert first["document_id"] == str(document.pk)
        assert set(first) == {"document_id", "chunk_id", "title", "snippet", "score"}
        assert "remotely" in first["snippet"]

    def test_nothing_relevant_means_abstain_without_inventing(self, alice):
        ingest(alice, "remote.txt", POLICY)
        body = (
            alice.client()
            .post("/api/v1/query", {"question": "Which football club won the 1998 cup final?"}, format="json")
            .json()
        )
        assert body["abstained"] is True
        assert body["answer"] == NO_ANSWER

    def test_empty_tenant_abstains(self, charlie):
        body = charlie.client().post("/api/v1/query", {"question": "What is the leave policy?"}, format="json").json()
        assert body == {"answer": NO_ANSWER, "citations": [], "abstained": True}

    @pytest.mark.parametrize(
        "payload",
        [
            {},
            {"question": ""},
            {"question": "ok", "top_k": 0},
            {"question": "ok", "top_k": 1000},
            {"question": 5 * "x" * 1000},
        ],
    )
    def test_bad_query_input_gets_400(self, alice, payload):
        response = alice.client().post("/api/v1/query", payload, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_input"

    def test_question_is_redacted_before_it_is_audited(self, alice):
        ingest(alice, "remote.txt", POLICY)
        alice.client().post(
            "/api/v1/query",
            {"question": "Can Meera Krishnan (meera.k@example.com) work from abroad?"},
            format="json",
        )
        event = AuditEvent.objects.filter(action="query.answered").latest("id")
        question = event.details["question"]
        assert "Meera" not in question and "meera.k@example.com" not in question
        assert "<EMAIL_ADDRESS>" in question
        assert event.details["model"] and len(event.details["model_sha256"]) == 64
        assert event.details["sampling"]["temperature"] == 0.0


def test_snippet_shows_the_part_that_matches_the_question():
    from retrieval.prompting import best_snippet

    text = " ".join(f"Filler sentence number {i} about nothing in particular." for i in range(20))
    text += " Sick leave is granted for up to 12 days per year. " + text
    snippet = best_snippet(text, "How many days of sick leave?", limit=200)
    assert "Sick leave is granted for up to 12 days per year." in snippet
    assert len(snippet) <= 204
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert best_snippet("Short passage.", "anything", limit=200) == "Short passage."
