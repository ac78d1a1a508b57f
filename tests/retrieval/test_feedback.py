"""Feedback on answers: stored, redacted, audited, owned like conversations, and exported as a QA set."""

from __future__ import annotations

import json

import pytest

from cleanroom.audit.models import AuditEvent
from retrieval.conversations import conversation_create, turn_answer
from retrieval.feedback import feedback_qa_rows
from retrieval.models import AnswerFeedback, Message
from tests.conftest import ingest

LEAVE = b"Leave policy.\n\nPermanent employees get 24 days of annual leave per year.\n"
QUESTION = "How many days of annual leave do permanent employees get?"
NOT_FOUND = {"error": {"code": "not_found", "message": "No such object."}}


@pytest.fixture
def answered(alice) -> Message:
    ingest(alice, "leave.txt", LEAVE, title="Leave policy")
    conversation = conversation_create(tenant=alice.tenant, user=alice.user)
    result = turn_answer(tenant=alice.tenant, user=alice.user, conversation=conversation, text=QUESTION, top_k=3)
    return result.answer_message


def _rate(actor, message_id, **body):  # noqa: ANN001, ANN003
    return actor.client().post(f"/api/v1/answers/{message_id}/feedback", body, format="json")


@pytest.mark.django_db
class TestFeedbackApi:
    def test_rating_is_stored_redacted_and_audited_and_a_second_rating_replaces_it(self, alice, answered):
        comment = "Wrong: Priya Raman (priya.raman@example.com) says permanent staff get 30 days."
        response = _rate(alice, answered.pk, rating="down", comment=comment)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["rating"] == "down" and body["message_id"] == answered.pk
        stored = AnswerFeedback.objects.get(message=answered)
        assert "Priya" not in stored.comment and "<EMAIL_ADDRESS>" in stored.comment and "30 days" in stored.comment
        event = AuditEvent.objects.get(action="answer.rated")
        assert event.details["rating"] == "down" and event.details["comment"] == stored.comment
        assert "Priya" not in json.dumps(event.details) and "priya.raman" not in json.dumps(event.details)

        again = _rate(alice, answered.pk, rating="up")
        assert again.status_code == 200
        assert AnswerFeedback.objects.get(message=answered).rating == "up" and AnswerFeedback.objects.count() == 1
        assert AuditEvent.objects.filter(action="answer.rated").latest("pk").details["replaced"] is True

    def test_only_the_conversations_owner_rates_its_answers(self, alice, bob, charlie, answered):
        question = Message.objects.get(conversation=answered.conversation, role="user")
        for actor, message_id in ((bob, answered.pk), (charlie, answered.pk), (alice, question.pk), (alice, "x")):
            response = _rate(actor, message_id, rating="up")
            assert response.status_code == 404 and response.json() == NOT_FOUND
        assert not AnswerFeedback.objects.exists()

    def test_a_rating_must_be_up_or_down(self, alice, answered):
        response = _rate(alice, answered.pk, rating="meh")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"

    def test_the_ask_page_rates_answers(self, client, alice, answered):
        client.force_login(alice.user)
        page = client.get(f"/ask/?c={answered.conversation_id}").content.decode()
        assert 'name="rating" value="up"' in page and 'name="rating" value="down"' in page
        response = client.post("/ask/feedback", {"message": answered.pk, "rating": "up", "comment": "Spot on."})
        assert response.status_code == 302 and f"#answer-{answered.pk}" in response["Location"]
        assert AnswerFeedback.objects.get(message=answered).comment == "Spot on."
        assert 'aria-pressed="true"' in client.get(f"/ask/?c={answered.conversation_id}").content.decode()


@pytest.mark.django_db
def test_rated_answers_export_as_a_qa_set(alice, answered):
    _rate(alice, answered.pk, rating="up", comment="Correct.")
    rows = list(feedback_qa_rows(tenant=alice.tenant))
    assert len(rows) == 1
    row = rows[0]
    assert row["question"] == QUESTION and row["rating"] == "up" and row["comment"] == "Correct."
    assert row["kind"] == ("unanswerable" if answered.abstained else "answerable")
    assert {"id", "kind", "question", "expect", "document", "document_ids", "answer"} <= set(row)
    json.dumps(row)  # one JSONL line
    assert list(feedback_qa_rows(tenant=alice.tenant, rating="down")) == []
