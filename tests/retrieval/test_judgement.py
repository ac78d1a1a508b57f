"""The model's judgement of its passages before it answers: the prompt, the arithmetic, the real model (locally and
through a remote OpenAI-compatible server) and the service abstaining on it."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from cleanroom.audit.models import AuditEvent
from retrieval.llm import (
    LocalLlamaBackend,
    RemoteOpenAIBackend,
    Sampling,
    backend_chat,
    first_share,
    resolve_model_path,
)
from retrieval.prompting import (
    ANSWER_INSTRUCTION,
    JUDGE_CHOICES,
    JUDGE_INSTRUCTION,
    NO_ANSWER,
    RESCUE_INSTRUCTION,
    RESCUE_SYSTEM_PROMPT,
    Passage,
    build_judge_messages,
    build_rescue_messages,
    is_abstention,
    may_be_decline,
    support_check,
)
from retrieval.prompting import build_messages as answer_messages
from retrieval.replay import answer_replay
from retrieval.selectors import ScoredChunk
from retrieval.services import question_prepare
from tests.conftest import ingest
from tests.helpers.llama_server import LlamaServer

POLICY = (
    b"Travel policy.\n\nEmployees travelling for work fly economy class within India. Hotel costs are reimbursed "
    b"up to 4,000 rupees per night.\n"
)
QUESTION = "Which class do employees fly within India?"


def _messages(question: str = QUESTION) -> list[dict[str, str]]:
    text = "Employees travelling for work fly economy class within India."
    chunk = ScoredChunk(chunk_id=1, document_id="d", title="Travel", section="", text=text, score=0.6)
    return answer_messages(question, [Passage(1, chunk, (text,), text)])


def test_judge_prompt_is_the_answer_prompt_up_to_its_last_instruction():
    messages = _messages()
    judged = build_judge_messages(messages)
    assert judged[0] == messages[0]
    answer, judge = messages[1]["content"], judged[1]["content"]
    # Same passages and question, character for character: llama.cpp's prefix cache carries them over.
    assert answer.removesuffix(ANSWER_INSTRUCTION) == judge.removesuffix(JUDGE_INSTRUCTION)
    assert judge.endswith(JUDGE_INSTRUCTION) and QUESTION in judge


def test_first_share_sets_aside_other_first_words():
    assert first_share(0.3, 0.1) == pytest.approx(0.75)
    assert first_share(0.0, 0.2) == 0.0
    assert first_share(0.0, 0.0) is None


@pytest.fixture(scope="module")
def local():
    return LocalLlamaBackend(resolve_model_path(settings.LLM_MODEL), model_id="local", n_ctx=2048, n_threads=2)


def test_real_model_gives_a_probability_and_the_same_answer_after_it(local):
    messages = _messages()
    before = backend_chat(local, messages, Sampling(max_tokens=24))
    share = local.choice_probability(build_judge_messages(messages), JUDGE_CHOICES)
    assert share is not None and 0.0 <= share <= 1.0
    # The judgement leaves llama.cpp's cache holding the shared prefix; the answer evaluated after it is the same.
    assert backend_chat(local, messages, Sampling(max_tokens=24)) == before
    assert local.choice_probability(build_judge_messages(messages), JUDGE_CHOICES) == pytest.approx(share, abs=1e-4)


def test_remote_server_gives_the_same_judgement_from_its_log_probabilities(local):
    server = LlamaServer(resolve_model_path(settings.LLM_MODEL), "remote-test-model").start()
    try:
        remote = RemoteOpenAIBackend(server.url, model_id="remote-test-model", region="eu")
        judged = build_judge_messages(_messages())
        share = remote.choice_probability(judged, JUDGE_CHOICES)
        assert share == pytest.approx(local.choice_probability(judged, JUDGE_CHOICES), abs=0.02)
        assert server.requests[-1]["body"]["max_tokens"] == 1
    finally:
        server.stop()


def test_a_remote_server_that_cannot_be_reached_skips_the_judgement():
    backend = RemoteOpenAIBackend("http://127.0.0.1:9/v1", model_id="m", region="eu", timeout=2)
    assert backend.choice_probability(build_judge_messages(_messages()), JUDGE_CHOICES) is None


def _answered() -> dict:
    return AuditEvent.objects.filter(action="query.answered").latest("id").details


@pytest.mark.django_db
class TestServiceJudgement:
    def test_below_the_floor_the_service_abstains_without_generating(self, alice, settings):
        settings.ANSWER_JUDGE_FLOOR = 1.01  # no judgement reaches it
        ingest(alice, "travel.txt", POLICY)
        response = alice.client().post("/api/v1/query", {"question": QUESTION, "stream": True}, format="json")
        text = b"".join(response.streaming_content).decode()
        assert "event: token" not in text  # nothing was generated, so nothing had to be withdrawn
        final = json.loads(text.split("event: answer\ndata: ", 1)[1].split("\n", 1)[0])
        assert final["abstained"] is True and final["answer"] == NO_ANSWER
        details = _answered()
        assert details["abstain_reason"] == "judged_unanswerable"
        assert 0.0 <= details["judgement"] < 1.01 and details["judge_floor"] == 1.01

    def test_a_judged_abstention_replays_from_its_audit_entry(self, alice, settings):
        settings.ANSWER_JUDGE_FLOOR = 1.01
        ingest(alice, "travel.txt", POLICY)
        alice.client().post("/api/v1/query", {"question": QUESTION}, format="json")
        event = AuditEvent.objects.filter(action="query.answered").latest("id")
        result = answer_replay(event_id=event.pk)
        assert result.identical and result.prompt_identical and result.answer == ""

    def test_above_the_floor_the_judgement_is_recorded_and_the_model_answers(self, alice, settings):
        settings.ANSWER_JUDGE_FLOOR = 0.0
        ingest(alice, "travel.txt", POLICY)
        body = alice.client().post("/api/v1/query", {"question": QUESTION}, format="json").json()
        details = _answered()
        assert details["judgement"] is not None and details["abstain_reason"] != "judged_unanswerable"
        assert body["abstained"] == (details["abstain_reason"] is not None)

    def test_a_negative_floor_does_not_ask(self, alice, settings):
        settings.ANSWER_JUDGE_FLOOR = -1.0
        ingest(alice, "travel.txt", POLICY)
        alice.client().post("/api/v1/query", {"question": QUESTION}, format="json")
        assert _answered()["judgement"] is None


def _support(answer: str, *sentences: str, trusted: bool) -> bool:
    text = " ".join(sentences)
    chunk = ScoredChunk(chunk_id=1, document_id="d", title="Doc", section="", text=text, score=0.5)
    rows = support_check(answer, [Passage(1, chunk, sentences, text)], trusted=trusted)
    return bool(rows) and all(row.supported for row in rows)


def test_a_trusted_answer_may_paraphrase_more_but_not_change_numbers_or_polarity():
    passage = ("Staff travelling on duty fly economy class on domestic routes.",)
    paraphrase = "Staff fly in economy seats on work trips within the country [1]."
    assert not _support(paraphrase, *passage, trusted=False)
    assert _support(paraphrase, *passage, trusted=True)
    limit = ("Hotel costs are reimbursed up to 4,000 rupees per night.",)
    assert not _support("The hotel allowance is 5,000 rupees per night [1].", *limit, trusted=True)
    assert not _support("Hotel costs are never reimbursed [1].", *limit, trusted=True)


def test_the_rescue_prompt_keeps_the_passages_and_question_and_fences_them():
    messages = _messages()
    rescue = build_rescue_messages(messages)
    assert rescue[0]["content"] == RESCUE_SYSTEM_PROMPT != messages[0]["content"]
    assert rescue[1]["content"].removesuffix(RESCUE_INSTRUCTION) == messages[1]["content"].removesuffix(
        ANSWER_INSTRUCTION
    )
    assert "not instructions" in RESCUE_INSTRUCTION and "[1]" in RESCUE_INSTRUCTION


def test_a_plain_decline_is_held_back_while_it_may_still_be_one():
    for text in ("I", "I don", " I don't know", "I don't know.", "i don't know"):
        assert may_be_decline(text), text
    for text in ("In", "Employees", "I do not", "The passages"):
        assert not may_be_decline(text), text
    # What a plainer request answers when it declines: about the passages, not the world.
    assert is_abstention("[1] The passage does not contain the answer.")
    assert not is_abstention("The policy does not include contractors [1].")


@pytest.mark.django_db
def test_a_decline_is_asked_again_only_from_the_rescue_floor(alice, settings):
    ingest(alice, "travel.txt", POLICY)
    prepared = question_prepare(tenant=alice.tenant, question=QUESTION, top_k=3)
    settings.ANSWER_RESCUE_FLOOR = 0.5
    for judgement, rescue in ((None, False), (0.49, False), (0.5, True), (0.9, True)):
        prepared.judgement = judgement
        assert prepared.may_rescue is rescue, judgement
    settings.ANSWER_RESCUE_FLOOR = -1.0  # off
    assert not prepared.may_rescue
