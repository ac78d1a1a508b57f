"""Conversations: follow-ups rewritten into standalone questions (rules, and the real small model behind a guard),
owned by their user and tenant, redacted like questions, under retention, erasure and the leak scan; the OpenAI
endpoint using the whole history; the Ask page as a chat."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from cleanroom.audit.models import AuditEvent
from cleanroom.policies.models import ResidencyRule
from cleanroom.vault.services import identifier_scan
from ingestion.erasure import erasure_execute, erasure_preview
from ingestion.leakscan import leakscan_run
from retrieval.conversations import (
    MODEL,
    RULES,
    UNCHANGED,
    conversation_create,
    conversation_retention_purge,
    model_rewrite_accept,
    rules_rewrite,
)
from retrieval.models import Conversation, Message
from tests.conftest import ingest, make_actor

LEAVE = (
    b"Leave policy.\n\nPermanent employees get 24 days of annual leave per year. Contractors get 12 days of annual "
    b"leave per year. Unused annual leave can be carried over for one year.\n"
)
HIRING = b"Hiring plan.\n\nNext year the company will hire 40 engineers and 12 contractors for the new plant.\n"
FIRST = "How many days of annual leave?"
FOLLOW_UP = "and how many for contractors?"
NOT_FOUND = {"error": {"code": "not_found", "message": "No such object."}}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


class TestRulesRewrite:
    def test_the_follow_up_from_the_issue_becomes_a_standalone_question(self):
        rewritten = rules_rewrite(FIRST, FOLLOW_UP)
        assert "leave" in _words(rewritten) and "contractors" in _words(rewritten)
        assert rewritten == "How many days of annual leave for contractors?"

    @pytest.mark.parametrize(
        ("follow_up", "must_hold"),
        [
            ("what about interns?", {"leave", "interns"}),
            ("And for interns?", {"leave", "interns"}),
            ("interns?", {"leave", "interns"}),
            ("Can it be carried over?", {"carried", "leave"}),
        ],
    )
    def test_follow_ups_that_depend_on_the_previous_question_get_its_words(self, follow_up, must_hold):
        assert must_hold <= _words(rules_rewrite(FIRST, follow_up))

    @pytest.mark.parametrize(
        "question", ["Is there a canteen on the ground floor?", "What is the notice period for managers?"]
    )
    def test_a_question_that_stands_alone_is_left_as_it_is(self, question):
        assert rules_rewrite(FIRST, question) == question

    def test_no_previous_question_means_no_rewrite(self):
        assert rules_rewrite("", FOLLOW_UP) == FOLLOW_UP

    def test_the_model_rewrite_is_used_only_if_it_keeps_the_follow_up_and_invents_nothing(self):
        transcript = f"{FIRST} Permanent employees get 24 days of annual leave per year."
        kwargs = {"previous": FIRST, "followup": FOLLOW_UP, "transcript_text": transcript}
        good = model_rewrite_accept("How many days of annual leave do contractors get?", **kwargs)
        assert good == "How many days of annual leave do contractors get?"
        assert model_rewrite_accept("Standalone question: how many leave days for contractors", **kwargs)
        assert model_rewrite_accept("How many engineers will be hired?", **kwargs) is None  # invents, drops
        assert model_rewrite_accept("How many days of annual leave?", **kwargs) is None  # drops "contractors"
        assert model_rewrite_accept("How many for contractors?", **kwargs) is None  # resolves nothing
        assert model_rewrite_accept("Contractors get 12 days [1].", **kwargs) is None  # an answer, not a question


@pytest.mark.django_db
class TestConversationApi:
    def _ask(self, client: APIClient, conversation_id: str, content: str, **extra):  # noqa: ANN003
        return client.post(
            f"/api/v1/conversations/{conversation_id}/messages", {"content": content, **extra}, format="json"
        )

    def test_follow_up_is_rewritten_shown_audited_and_answered_as_standalone(self, alice):
        ingest(alice, "leave.txt", LEAVE, title="Leave policy")
        ingest(alice, "hiring.txt", HIRING, title="Hiring plan")
        client = alice.client()
        created = client.post("/api/v1/conversations", {}, format="json")
        assert created.status_code == 201, created.content
        conversation_id = created.json()["id"]

        first = self._ask(client, conversation_id, FIRST)
        assert first.status_code == 201, first.content
        body = first.json()
        assert body["rewrite_method"] == UNCHANGED and body["standalone_question"] == FIRST
        assert body["answer"]["role"] == "assistant" and isinstance(body["answer"]["citations"], list)

        second = self._ask(client, conversation_id, FOLLOW_UP)
        assert second.status_code == 201, second.content
        turn = second.json()
        standalone = turn["standalone_question"]
        assert {"leave", "contractors"} <= _words(standalone), standalone
        assert turn["rewrite_method"] in {RULES, MODEL}
        assert turn["question"]["text"] == FOLLOW_UP  # what the user typed (redacted: nothing to redact here)
        assert turn["question"]["standalone_question"] == standalone

        # The rewrite is what was searched, prompted and checked: the answer's audit entry holds it.
        answered = AuditEvent.objects.filter(action="query.answered").order_by("pk")
        assert [e.details["question"] for e in answered] == [FIRST, standalone]
        asked = AuditEvent.objects.filter(action="conversation.asked").order_by("pk").last()
        assert asked.details["standalone_question"] == standalone and asked.details["question"] == FOLLOW_UP
        assert asked.details["method"] == turn["rewrite_method"] and asked.details["history_messages"] == 2

        detail = client.get(f"/api/v1/conversations/{conversation_id}").json()
        assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
        assert detail["title"] == FIRST
        listed = client.get("/api/v1/conversations").json()
        assert [c["id"] for c in listed["results"]] == [conversation_id]

    def test_streamed_turn_sends_the_rewrite_first_then_tokens_then_the_stored_answer(self, alice):
        ingest(alice, "leave.txt", LEAVE, title="Leave policy")
        client = alice.client()
        conversation_id = client.post("/api/v1/conversations", {}, format="json").json()["id"]
        assert self._ask(client, conversation_id, FIRST).status_code == 201
        response = self._ask(client, conversation_id, FOLLOW_UP, stream=True)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
        text = b"".join(response.streaming_content).decode()
        events = [block.split("\n", 1)[0].removeprefix("event: ") for block in text.strip().split("\n\n")]
        assert events[0] == "question" and events[-1] == "answer", events
        question = json.loads(text.split("\n\n")[0].split("data: ", 1)[1])
        assert {"leave", "contractors"} <= _words(question["standalone_question"])
        final = json.loads(text.strip().split("\n\n")[-1].split("data: ", 1)[1])
        assert Message.objects.filter(pk=final["answer"]["id"], role="assistant").exists()

    def test_a_conversation_is_its_owners_alone_anyone_else_gets_the_same_404(self, alice, bob, charlie):
        conversation = conversation_create(tenant=alice.tenant, user=alice.user)
        url = f"/api/v1/conversations/{conversation.pk}"
        missing = "/api/v1/conversations/00000000-0000-0000-0000-000000000000"
        for other in (bob, charlie):  # bob: same tenant, other user; charlie: other tenant
            client = other.client()
            for response in (
                client.get(url),
                client.get(missing),
                client.get("/api/v1/conversations/not-a-uuid"),
                self._ask(client, str(conversation.pk), FIRST),
                client.delete(url),
            ):
                assert response.status_code == 404 and response.json() == NOT_FOUND
            assert client.get("/api/v1/conversations").json()["results"] == []
        assert APIClient().get("/api/v1/conversations").status_code == 401
        assert Conversation.objects.filter(pk=conversation.pk).exists()
        assert not Message.objects.exists()  # nothing was asked in it

        deleted = alice.client().delete(url)
        assert deleted.status_code == 204 and not Conversation.objects.filter(pk=conversation.pk).exists()
        assert AuditEvent.objects.filter(action="conversation.deleted").count() == 1

    def test_messages_are_stored_and_audited_redacted(self, alice):
        ingest(alice, "leave.txt", LEAVE, title="Leave policy")
        client = alice.client()
        conversation_id = client.post("/api/v1/conversations", {"title": "Leave of Arjun Mehta"}, format="json").json()[
            "id"
        ]
        asked = "How many days of annual leave does Arjun Mehta (arjun.mehta@example.com) get?"
        turn = self._ask(client, conversation_id, asked)
        assert turn.status_code == 201, turn.content
        assert "Arjun" not in turn.json()["question"]["text"] and "<EMAIL_ADDRESS>" in turn.json()["question"]["text"]
        follow = self._ask(client, conversation_id, "and what about Arjun Mehta's contractors?")
        assert follow.status_code == 201, follow.content
        stored = list(Message.objects.values_list("text", "standalone_question"))
        stored.append((Conversation.objects.get().title, ""))
        for texts in stored:
            assert not any(raw in " ".join(texts) for raw in ("Arjun", "Mehta", "arjun.mehta")), texts
        for event in AuditEvent.objects.all():
            assert "Arjun" not in json.dumps(event.details) and "arjun.mehta" not in json.dumps(event.details)

    def test_bad_input_is_400(self, alice):
        conversation_id = alice.client().post("/api/v1/conversations", {}, format="json").json()["id"]
        response = self._ask(alice.client(), conversation_id, "")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"


@pytest.mark.django_db
class TestOpenAIHistory:
    def test_chat_completions_rewrites_the_last_user_message_from_the_history(self, alice):
        ingest(alice, "leave.txt", LEAVE, title="Leave policy")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.key}")
        messages = [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": FIRST},
            {"role": "assistant", "content": "Permanent employees get 24 days [1].\n\nSources:\n[1] Leave policy"},
            {"role": "user", "content": [{"type": "text", "text": FOLLOW_UP}]},
        ]
        response = client.post(
            "/v1/chat/completions", {"model": settings.LLM_MODEL, "messages": messages}, format="json"
        )
        assert response.status_code == 200, response.content
        body = response.json()
        standalone = body["standalone_question"]
        assert {"leave", "contractors"} <= _words(standalone) and body["rewrite_method"] in {RULES, MODEL}
        assert f"Question as understood: {standalone}" in body["choices"][0]["message"]["content"]
        answered = AuditEvent.objects.get(action="query.answered")
        assert answered.details["question"] == standalone
        rewritten = AuditEvent.objects.get(action="conversation.rewritten")
        assert rewritten.details["source"] == "openai" and rewritten.details["standalone_question"] == standalone
        assert rewritten.details["history_messages"] == 2

    def test_a_single_message_is_answered_as_before(self, alice):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.key}")
        response = client.post(
            "/v1/chat/completions", {"messages": [{"role": "user", "content": FIRST}]}, format="json"
        )
        assert response.status_code == 200, response.content
        assert "standalone_question" not in response.json()
        assert not AuditEvent.objects.filter(action="conversation.rewritten").exists()


def _conversation_with(actor, text: str) -> Message:  # noqa: ANN001 - tests.conftest.Actor
    conversation = conversation_create(tenant=actor.tenant, user=actor.user)
    return Message.objects.create(conversation=conversation, tenant=actor.tenant, role="user", text=text)


@pytest.mark.django_db
class TestDataProtection:
    def test_retention_purges_conversations_past_the_period_and_audits(self, alice, charlie):
        ResidencyRule.objects.create(tenant=alice.tenant, retention_days=30)
        old = _conversation_with(alice, "Old question?").conversation
        kept = _conversation_with(alice, "New question?").conversation
        untouched = _conversation_with(charlie, "Old question elsewhere?").conversation  # no retention rule
        past = timezone.now() - timedelta(days=31)
        Conversation.objects.filter(pk__in=[old.pk, untouched.pk]).update(updated_at=past)
        Message.objects.filter(conversation__in=[old, untouched]).update(created_at=past)

        assert conversation_retention_purge() == 2  # the conversation and its message
        assert set(Conversation.objects.values_list("pk", flat=True)) == {kept.pk, untouched.pk}
        event = AuditEvent.objects.get(action="retention.conversations_purged")
        assert event.details["conversations"] == 1 and event.details["retention_days"] == 30
        assert "conversation-retention" in settings.CELERY_BEAT_SCHEDULE

    def test_erasure_rewrites_conversation_text_and_its_receipt_verifies_it(self, alice):
        # A mention that slipped through verbatim (say, stored before a recognizer existed).
        message = _conversation_with(alice, "Did Kavya Iyer approve the budget?")
        Message.objects.filter(pk=message.pk).update(standalone_question="Did Kavya Iyer approve the budget?")
        hits = identifier_scan(tenant=alice.tenant, identifier="Kavya Iyer", hashes=set(), tokens=set())
        assert any(hit.table == Message._meta.db_table for hit in hits)  # the scan sees conversation text

        plan = erasure_preview(tenant=alice.tenant, identifier="Kavya Iyer", actor=None)
        assert plan["extensions"]["conversations"]["conversation_messages"] == 1
        assert "Kavya" in Message.objects.get(pk=message.pk).text  # a preview changes nothing

        receipt = erasure_execute(tenant=alice.tenant, identifier="Kavya Iyer", actor=None)
        message.refresh_from_db()
        assert "Kavya" not in message.text + message.standalone_question and "<ERASED>" in message.text
        assert receipt.receipt["extensions"]["conversations"]["conversation_messages"] == 1
        assert receipt.verified and receipt.receipt["verification"]["clean"]

    def test_erasure_in_remove_mode_deletes_the_messages(self, alice):
        message = _conversation_with(alice, "Call +91 98765 43210 about leave?")
        receipt = erasure_execute(tenant=alice.tenant, identifier="9876543210", actor=None, mode="remove")
        assert not Message.objects.filter(pk=message.pk).exists() and receipt.verified

    def test_leak_scan_reads_conversation_text(self, alice):
        message = _conversation_with(alice, "Did Ravi Shankar Rao fix the air conditioning?")
        leaks = leakscan_run(tenant=alice.tenant)
        assert any(
            leak.source == "conversation_message" and leak.row_id == str(message.pk) and leak.entity_type == "PERSON"
            for leak in leaks
        )
        report = AuditEvent.objects.filter(action="leakscan.completed").latest("pk").details
        assert f"conversation_message:{message.pk}" in report["other_rows"] and "Ravi" not in json.dumps(report)


@pytest.mark.django_db
class TestAskPage:
    def test_the_ask_page_is_a_chat_with_history_and_follow_ups_shown_as_searched(self, client, alice):
        document = ingest(alice, "leave.txt", LEAVE, title="Leave policy")
        client.force_login(alice.user)
        page = client.get("/ask/")
        assert page.status_code == 200 and b"New conversation" in page.content
        first = client.post("/ask/", {"question": FIRST, "top_k": 3})
        assert first.status_code == 200 and b"Answer" in first.content
        assert str(document.pk).encode() in first.content
        conversation = Conversation.objects.get(user=alice.user)
        second = client.post("/ask/", {"question": FOLLOW_UP, "conversation": str(conversation.pk)})
        assert second.status_code == 200
        html = second.content.decode()
        assert html.count('class="turn"') == 2 and "Searched as:" in html and "contractors" in html
        assert client.get(f"/ask/?c={conversation.pk}").content.decode().count('class="turn"') == 2

        assert client.post(f"/ask/{conversation.pk}/delete").status_code == 302
        assert not Conversation.objects.exists()

    def test_someone_elses_conversation_is_404_on_the_page(self, client, alice):
        conversation = conversation_create(tenant=alice.tenant, user=alice.user)
        other = make_actor("tenant-a", "dora")
        client.force_login(other.user)
        assert client.get(f"/ask/?c={conversation.pk}").status_code == 404
        assert client.post("/ask/", {"question": FIRST, "conversation": str(conversation.pk)}).status_code == 404
        assert client.post(f"/ask/{conversation.pk}/delete").status_code == 404
        assert not Message.objects.exists()

    def test_what_the_page_script_calls_streams_with_the_signed_in_session(self, alice):
        """ask.js (with JavaScript) creates the conversation and streams the turn over the API with the page's session
        and CSRF token; the page then shows the conversation the server stored."""
        from django.test import Client

        ingest(alice, "leave.txt", LEAVE, title="Leave policy")
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(alice.user)
        page = browser.get("/ask/").content.decode()
        assert 'src="/static/cleanroom/ask.js"' in page and 'data-conversations-url="/api/v1/conversations"' in page
        assert 'aria-describedby="ask-keys"' in page
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        headers = {"HTTP_X_CSRFTOKEN": csrf}
        created = browser.post("/api/v1/conversations", "{}", content_type="application/json", **headers)
        assert created.status_code == 201, created.content
        conversation_id = created.json()["id"]
        streamed = browser.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json.dumps({"content": FIRST, "top_k": 3, "stream": True}),
            content_type="application/json",
            **headers,
        )
        assert streamed.status_code == 200 and streamed["Content-Type"].startswith("text/event-stream")
        events = re.findall(r"^event: (\w+)", b"".join(streamed.streaming_content).decode(), re.MULTILINE)
        assert events[0] == "question" and events[-1] == "answer"
        assert browser.get(f"/ask/?c={conversation_id}").content.decode().count('class="turn"') == 1
