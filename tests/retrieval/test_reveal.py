"""Names people may see: a tenant that pseudonymises PERSON keeps `<PERSON_…>` in its index, prompts, stored
messages and audit trail; a user with the reveal permission who asks (`reveal: true`, "Show names") sees the real
value in the answer and its citations, resolved from the vault at display time and audited once per response without
the value. Everyone else sees the tokens, and another tenant's token never resolves."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.contrib.auth.models import Permission

from cleanroom.audit.models import AuditEvent
from cleanroom.policies.models import EntityRule, PiiAction
from cleanroom.tenants.models import Role, Scope
from cleanroom.tenants.services import api_token_create
from cleanroom.vault.display import Revealer, vault_display
from cleanroom.vault.models import VaultEntry
from retrieval.models import Message
from tests.conftest import Actor, ingest, make_actor

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"<PERSON_[0-9a-f]{8}>")
MEMO = (
    "Lab budget minutes.\n\nMeera Nair approved the budget for the Sahyadri centrifuge in March. The centrifuge "
    "will be installed in the basement laboratory next to the cold room.\n"
)
NAME = "Meera Nair"
RAW = ("Meera", "Nair")
QUESTION = "Who approved the budget for the Sahyadri centrifuge?"
REFUSED = "reveal_not_permitted"


def _grant(actor: Actor) -> None:
    actor.user.user_permissions.add(Permission.objects.get(codename="reveal_pseudonym"))


def _revealing(actor: Actor) -> Actor:
    """The same user with a token made to reveal (a token never gets the reveal scope by default)."""
    scopes = [Scope.READ, Scope.QUERY, Scope.REVEAL]
    _, key = api_token_create(membership=actor.membership, name="reveal", scopes=scopes)
    return Actor(actor.membership, key)


@pytest.fixture
def memo(alice, bob):
    """Tenant A pseudonymises names; alice may reveal, bob (her colleague) may not."""
    EntityRule.objects.create(tenant=alice.tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)
    document = ingest(alice, "minutes.txt", MEMO.encode())
    chunk = document.chunks.get()
    tokens = TOKEN.findall(chunk.text)
    assert tokens and not any(raw in chunk.text for raw in RAW)
    _grant(alice)
    return document, tokens[0]


def _events(response) -> list[tuple[str, dict]]:
    text = b"".join(response.streaming_content).decode()
    return [
        (m.group(1), json.loads(m.group(2))) for m in re.finditer(r"event: (\w+)\ndata: (.*)\n\n", text, re.MULTILINE)
    ]


def _reveal_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="vault.revealed_in_answer").order_by("pk"))


def _assert_no_value_stored() -> None:
    """Grep what is stored: messages, conversations, audit trail (details and labels)."""
    for event in AuditEvent.objects.all():
        dump = json.dumps(event.details) + event.target_id + event.actor_label
        assert not any(raw in dump for raw in RAW), event.action
    for message in Message.objects.all():
        dump = message.text + message.standalone_question + json.dumps(message.citations)
        assert not any(raw in dump for raw in RAW), message.pk


def test_reveal_shows_the_name_in_answer_and_citations_and_audits_once_without_the_value(alice, memo):
    _, token = memo
    plain = alice.client().post("/api/v1/query", {"question": QUESTION, "top_k": 3}, format="json")
    assert plain.status_code == 200, plain.content
    plain = plain.json()
    assert plain["revealed"] == 0
    assert any(token in c["snippet"] for c in plain["citations"])  # without reveal: the stable token

    revealed = (
        _revealing(alice)
        .client()
        .post("/api/v1/query", {"question": QUESTION, "top_k": 3, "reveal": True}, format="json")
    )
    assert revealed.status_code == 200, revealed.content
    body = revealed.json()
    # Same answer (temperature 0), with the value in place of the token wherever the token was: answer and snippet.
    assert body["answer"] == plain["answer"].replace(token, NAME)
    assert [c["snippet"] for c in body["citations"]] == [c["snippet"].replace(token, NAME) for c in plain["citations"]]
    assert any(NAME in c["snippet"] for c in body["citations"]) and not TOKEN.search(json.dumps(body))
    assert body["revealed"] == 1 and revealed["Cache-Control"] == "no-store"

    (event,) = _reveal_events()
    entry = VaultEntry.objects.get(tenant=alice.tenant, token=token)
    assert event.details["entry_ids"] == [entry.pk] and event.details["count"] == 1
    assert event.details["entity_types"] == {"PERSON": 1} and event.details["where"]["citation"] == 1
    assert token not in json.dumps(event.details)
    _assert_no_value_stored()


def test_the_resolver_replaces_tokens_in_answer_text_decrypting_each_entry_once(alice, memo):
    _, token = memo
    answer = f"{token} approved the budget [1]. The order was signed by {token}."
    revealer = Revealer(tenant=alice.tenant, actor=alice.user)
    assert revealer.text(answer, where="answer") == f"{NAME} approved the budget [1]. The order was signed by {NAME}."
    assert revealer.text(f"({token})", where="citation") == f"({NAME})"
    assert len(revealer._values) == 1  # one lookup and decryption for the response
    revealer.finish(message_id=7)
    revealer.finish()  # idempotent: one event per response
    (event,) = _reveal_events()
    assert event.details["where"] == {"answer": 1, "citation": 1} and event.details["message_id"] == 7
    # Text without a known token is left alone, and audits nothing.
    unknown = ["<PERSON>", "<PERSON_00000000>"]
    assert vault_display(tenant=alice.tenant, user=alice.user, texts=unknown, where="answer") == unknown
    assert len(_reveal_events()) == 1


def test_a_pseudonym_split_across_stream_pieces_is_resolved_only_when_complete(alice, memo):
    _, token = memo
    pieces = Revealer(tenant=alice.tenant, actor=alice.user).stream()
    out = [pieces.feed(p) for p in ["Approved by ", token[:4], token[4:9], token[9:], " in March <3"]]
    out.append(pieces.flush())
    assert out[1] == "" and out[2] == ""  # held back while incomplete
    assert "".join(out) == f"Approved by {NAME} in March <3"
    assert not any("<PER" in piece for piece in out)


def test_a_colleague_without_the_permission_sees_tokens_and_gets_a_clear_403(alice, bob, memo):
    _, token = memo
    plain = bob.client().post("/api/v1/query", {"question": QUESTION, "top_k": 3}, format="json")
    assert plain.status_code == 200 and token in json.dumps(plain.json()["citations"])
    asked = bob.client().post("/api/v1/query", {"question": QUESTION, "reveal": True}, format="json")
    assert asked.status_code == 403 and asked.json()["error"]["code"] == REFUSED
    # alice herself, but with a token not made to reveal (every default token): refused too.
    alice_default = alice.client().post("/api/v1/query", {"question": QUESTION, "reveal": True}, format="json")
    assert alice_default.status_code == 403 and alice_default.json()["error"]["code"] == REFUSED
    # A token with the reveal scope does not make up for the permission its owner lacks.
    scoped = _revealing(bob).client().post("/api/v1/query", {"question": QUESTION, "reveal": True}, format="json")
    assert scoped.status_code == 403 and scoped.json()["error"]["code"] == REFUSED
    assert AuditEvent.objects.filter(action="vault.reveal_refused").count() == 3
    assert not Message.objects.exists()  # refused before any work
    # The resolver leaves bob's texts as they are.
    assert vault_display(tenant=bob.tenant, user=bob.user, texts=[token], where="answer") == [token]
    assert not _reveal_events()


def test_another_tenants_token_never_resolves(alice, charlie, memo):
    _, token = memo
    _grant(charlie)
    charlie = _revealing(charlie)
    assert vault_display(tenant=charlie.tenant, user=charlie.user, texts=[f"About {token}"], where="answer") == [
        f"About {token}"
    ]
    # charlie may not display tenant A's texts either: not a member there.
    assert vault_display(tenant=alice.tenant, user=charlie.user, texts=[token], where="answer") == [token]
    response = charlie.client().post("/api/v1/query", {"question": f"Who is {token}?", "reveal": True}, format="json")
    assert response.status_code == 200 and NAME not in response.content.decode()
    assert not _reveal_events()


def test_conversation_turns_reveal_on_request_and_store_only_tokens(alice, memo):
    _, token = memo
    client = _revealing(alice).client()
    conversation_id = client.post("/api/v1/conversations", {}, format="json").json()["id"]
    turn = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        {"content": QUESTION, "top_k": 3, "reveal": True},
        format="json",
    )
    assert turn.status_code == 201, turn.content
    answer = turn.json()["answer"]
    assert any(NAME in c["snippet"] for c in answer["citations"]) and not TOKEN.search(json.dumps(turn.json()))
    stored = Message.objects.get(role=Message.Role.ASSISTANT)
    assert any(token in c["snippet"] for c in stored.citations)
    assert stored.text == answer["text"].replace(NAME, token)

    history = client.get(f"/api/v1/conversations/{conversation_id}").json()
    assert token in json.dumps(history) and NAME not in json.dumps(history)  # no reveal asked: tokens
    shown = client.get(f"/api/v1/conversations/{conversation_id}?reveal=true").json()
    assert NAME in json.dumps(shown) and not TOKEN.search(json.dumps(shown))
    assert len(_reveal_events()) == 2  # the turn and the history view
    assert _reveal_events()[0].details["message_id"] == stored.pk

    bob = make_actor("tenant-a", "bob", Role.VIEWER)
    refused = bob.client().post(
        f"/api/v1/conversations/{conversation_id}/messages", {"content": QUESTION, "reveal": True}, format="json"
    )
    assert refused.status_code in (403, 404)  # not his conversation: 404 comes first
    _assert_no_value_stored()


def test_streamed_answers_reveal_complete_tokens_and_audit_once(alice, memo):
    _, token = memo
    client = _revealing(alice).client()
    response = client.post(
        "/api/v1/query", {"question": QUESTION, "top_k": 3, "stream": True, "reveal": True}, format="json"
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    events = _events(response)
    assert events[-1][0] == "answer"
    streamed = "".join(data["text"] for kind, data in events if kind == "token")
    assert not TOKEN.search(streamed) and not TOKEN.search(json.dumps(events[-1][1]))
    assert any(NAME in c["snippet"] for c in events[-1][1]["citations"])
    assert len(_reveal_events()) == 1

    conversation_id = client.post("/api/v1/conversations", {}, format="json").json()["id"]
    turn = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        {"content": QUESTION, "top_k": 3, "stream": True, "reveal": True},
        format="json",
    )
    events = _events(turn)
    assert [events[0][0], events[-1][0]] == ["question", "answer"]
    assert any(NAME in c["snippet"] for c in events[-1][1]["answer"]["citations"])
    assert not TOKEN.search(json.dumps([data for _, data in events]))
    assert len(_reveal_events()) == 2
    stored = Message.objects.get(role=Message.Role.ASSISTANT)
    assert any(token in c["snippet"] for c in stored.citations)
    _assert_no_value_stored()


def test_the_ask_page_and_document_page_show_names_to_permitted_users_only(client, alice, bob, memo):
    document, token = memo
    token = html.escape(token)  # as the page shows it
    client.force_login(alice.user)
    page = client.get("/ask/").content.decode()
    assert 'id="show-names"' in page
    answered = client.post("/ask/", {"question": QUESTION, "top_k": 3, "reveal": "1"})
    page = answered.content.decode()
    assert answered.status_code == 200 and NAME in page and token not in page and 'id="hide-names"' in page
    assert answered["Cache-Control"] == "no-store"
    conversation_id = Message.objects.get(role=Message.Role.USER).conversation_id
    answer = Message.objects.get(role=Message.Role.ASSISTANT)
    rated = client.post("/ask/feedback", {"message": answer.pk, "rating": "up", "reveal": "1"})
    assert rated.status_code == 302 and "reveal=1" in rated["Location"]  # back to the page as it was shown
    hidden = client.get(f"/ask/?c={conversation_id}").content.decode()
    assert token in hidden and NAME not in hidden
    shown = client.get(f"/documents/{document.pk}/?reveal=1")
    assert shown.status_code == 200 and NAME in shown.content.decode() and token not in shown.content.decode()
    assert [e.details.get("page") or "document" for e in _reveal_events()] == ["ask", "document"]

    client.force_login(bob.user)
    page = client.get("/ask/").content.decode()
    assert 'id="show-names"' not in page
    assert client.get("/ask/?reveal=1").status_code == 403
    assert client.get(f"/documents/{document.pk}/?reveal=1").status_code == 403
    assert token in client.get(f"/documents/{document.pk}/").content.decode()
    _assert_no_value_stored()
