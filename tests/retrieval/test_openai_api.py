"""The OpenAI-compatible endpoints, and the backend that talks to any OpenAI-compatible server by URL."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from cleanroom.audit.models import AuditEvent
from cleanroom.policies.models import ResidencyRule
from retrieval.llm import (
    LocalLlamaBackend,
    RemoteOpenAIBackend,
    Sampling,
    backend_chat,
    backends_reset,
    resolve_model_path,
)
from tests.conftest import ingest
from tests.helpers.llama_server import LlamaServer

POLICY = (
    b"Travel policy.\n\nTrain travel is booked in second class. Flights need approval from a director and are "
    b"booked in economy class.\n\nHotel costs are reimbursed up to 120 euros per night.\n"
)
QUESTION = "In which class are flights booked?"


def _bearer(actor) -> APIClient:  # noqa: ANN001 - tests.conftest.Actor
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {actor.key}")
    return client


def _sse_data(response) -> list[str]:  # noqa: ANN001
    text = b"".join(response.streaming_content).decode()
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]


@pytest.mark.django_db
class TestOpenAIEndpoints:
    def test_models_lists_the_installed_models_to_token_holders_only(self, alice):
        assert APIClient().get("/v1/models").status_code == 401
        body = _bearer(alice).get("/v1/models").json()
        assert body["object"] == "list"
        ids = [model["id"] for model in body["data"]]
        assert settings.LLM_MODEL in ids
        assert all(model["object"] == "model" for model in body["data"])

    def test_chat_completion_has_openai_shape_and_cited_sources(self, alice):
        document = ingest(alice, "travel.txt", POLICY, title="Travel policy")
        response = _bearer(alice).post(
            "/v1/chat/completions",
            {"model": settings.LLM_MODEL, "messages": [{"role": "user", "content": QUESTION}]},
            format="json",
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
        assert body["model"] == settings.LLM_MODEL and isinstance(body["created"], int)
        choice = body["choices"][0]
        assert choice["index"] == 0 and choice["finish_reason"] == "stop"
        assert choice["message"]["role"] == "assistant"
        content = choice["message"]["content"]
        assert f"(document {document.pk})" in content  # "Sources:" or "Closest passages:" with [n]
        assert body["citations"][0]["document_id"] == str(document.pk)
        usage = body["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0

    def test_streamed_chat_completion_sends_deltas_then_done(self, alice):
        document = ingest(alice, "travel.txt", POLICY, title="Travel policy")
        response = _bearer(alice).post(
            "/v1/chat/completions",
            {
                "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}],
                "stream": True,
            },
            format="json",
        )
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/event-stream")
        data = _sse_data(response)
        assert data[-1] == "[DONE]"
        chunks = [json.loads(item) for item in data[:-1]]
        assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        content = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
        assert len(chunks) > 3, "tokens are streamed one by one"
        assert f"(document {document.pk})" in content
        last = chunks[-1]
        assert last["choices"][0]["finish_reason"] == "stop"
        assert last["citations"][0]["document_id"] == str(document.pk)

    def test_list_content_parts_are_read_as_the_question(self, alice):
        ingest(alice, "travel.txt", POLICY)
        response = _bearer(alice).post(
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]},
            format="json",
        )
        assert response.status_code == 200
        question = AuditEvent.objects.filter(action="query.answered").latest("id").details["question"]
        assert question == QUESTION

    @pytest.mark.parametrize(
        ("payload", "code"),
        [
            ({}, "invalid_input"),
            ({"messages": []}, "invalid_input"),
            ({"messages": [{"role": "assistant", "content": "hi"}]}, "invalid_input"),
            ({"messages": [{"role": "user", "content": "x" * 4001}]}, "invalid_input"),
            ({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, "model_not_found"),
        ],
    )
    def test_bad_requests_get_a_400_with_the_error_shape(self, alice, payload, code):
        response = _bearer(alice).post("/v1/chat/completions", payload, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == code

    def test_other_tenant_gets_nothing_from_alices_documents(self, alice, charlie):
        ingest(alice, "travel.txt", POLICY)
        body = (
            _bearer(charlie)
            .post("/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}]}, format="json")
            .json()
        )
        assert body["abstained"] is True and body["citations"] == []
        assert "economy" not in body["choices"][0]["message"]["content"]

    def test_bad_token_is_401(self, db):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer crk_not-a-token")
        response = client.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
        assert response.status_code == 401


@pytest.fixture(scope="module")
def llama_server():
    """A separate OpenAI-compatible server running the test model with llama.cpp."""
    server = LlamaServer(resolve_model_path(settings.LLM_MODEL), "remote-test-model").start()
    yield server
    server.stop()


@pytest.fixture
def remote_settings(settings, llama_server):
    settings.LLM_URL = llama_server.url
    settings.LLM_URL_MODEL = llama_server.model_name
    settings.LLM_URL_REGION = "eu"
    settings.LLM_URL_API_KEY = "remote-secret"
    backends_reset()
    yield settings
    backends_reset()


def test_remote_backend_streams_what_the_same_model_says_locally(llama_server):
    messages = [{"role": "user", "content": "Name a colour of the sky."}]
    sampling = Sampling(max_tokens=24)
    remote = RemoteOpenAIBackend(llama_server.url, model_id="remote-test-model", region="eu", api_key="k")
    parts = list(remote.stream_chat(messages, sampling))
    local = LocalLlamaBackend(resolve_model_path(settings.LLM_MODEL), model_id="local", n_ctx=2048, n_threads=2)
    assert len(parts) > 1 and "".join(parts) == backend_chat(local, messages, sampling)
    assert llama_server.requests[-1]["authorization"] == "Bearer k"
    assert llama_server.requests[-1]["body"]["temperature"] == 0.0


def test_remote_backend_down_is_a_503():
    from retrieval.llm import ModelUnavailable

    backend = RemoteOpenAIBackend("http://127.0.0.1:9/v1", model_id="m", region="eu", timeout=2)
    with pytest.raises(ModelUnavailable):
        list(backend.stream_chat([{"role": "user", "content": "hi"}], Sampling()))


@pytest.mark.django_db
class TestRemoteBackendInService:
    def test_remote_model_is_refused_when_its_region_is_not_allowed(self, alice, remote_settings):
        ingest(alice, "travel.txt", POLICY)
        response = alice.client().post("/api/v1/query", {"question": QUESTION}, format="json")
        assert response.status_code == 451
        assert "answer model runs in region 'eu'" in response.json()["error"]["message"]

    def test_remote_model_answers_when_its_region_is_allowed(self, alice, remote_settings, llama_server):
        ResidencyRule.objects.create(tenant=alice.tenant, processing_regions=[settings.CLEANROOM_REGION, "eu"])
        ingest(alice, "travel.txt", POLICY)
        assert _bearer(alice).get("/v1/models").json()["data"][0]["id"] == "remote-test-model"
        served = len(llama_server.requests)
        body = alice.client().post("/api/v1/query", {"question": QUESTION}, format="json").json()
        assert body["model"] == "remote-test-model" and body["citations"]
        # The judgement (one token, with log-probabilities), then the answer, both from the remote server.
        judged, answered = llama_server.requests[served:]
        assert judged["body"]["max_tokens"] == 1 and judged["body"]["logprobs"] is True
        assert "economy" in answered["body"]["messages"][1]["content"]
        details = AuditEvent.objects.filter(action="query.answered").latest("id").details
        assert details["model_region"] == "eu"
        assert details["model_backend"]["url"] == llama_server.url
        assert "remote-secret" not in json.dumps(details)


@pytest.mark.django_db(transaction=True)
def test_openai_sdk_gets_grounded_answers_over_http(live_server, alice):
    """The official OpenAI client, over a real socket, streamed and not."""
    import openai

    document = ingest(alice, "travel.txt", POLICY, title="Travel policy")
    client = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=alice.key, max_retries=0)
    models = [model.id for model in client.models.list()]
    assert settings.LLM_MODEL in models

    completion = client.chat.completions.create(model=models[0], messages=[{"role": "user", "content": QUESTION}])
    assert completion.choices[0].message.role == "assistant"
    assert f"(document {document.pk})" in completion.choices[0].message.content
    assert completion.model_extra["citations"][0]["document_id"] == str(document.pk)

    stream = client.chat.completions.create(
        model=models[0], messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert f"(document {document.pk})" in streamed
    assert chunks[-1].choices[0].finish_reason == "stop"

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live_server.url}/v1", api_key="crk_wrong", max_retries=0).models.list()


def _niceness(native_id: int) -> int:
    # /proc/<pid>/task/<tid>/stat: field 19 is the niceness; the command name (field 2) may hold spaces.
    return int(Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_local_answers_are_generated_at_a_lower_cpu_priority_and_stop_with_the_caller(settings):
    """Searches in the same web process keep the CPU while answers are written (bench.load --contention)."""
    settings.LLM_NICE = 10
    backend = LocalLlamaBackend(resolve_model_path(settings.LLM_MODEL), model_id="local", n_ctx=2048, n_threads=2)
    stream = backend.stream_chat([{"role": "user", "content": "Count from one to fifty."}], Sampling(max_tokens=64))
    assert next(stream)
    generating = [t for t in threading.enumerate() if t.name == "llm-generation"]
    assert len(generating) == 1 and generating[0].native_id is not None
    own = _niceness(threading.get_native_id())
    assert _niceness(generating[0].native_id) == min(19, own + 10)  # 19 is the kernel's ceiling
    stream.close()  # the client went away: the generation ends at its next token and frees the model
    generating[0].join(timeout=30)
    assert not generating[0].is_alive()
    assert _niceness(threading.get_native_id()) == own  # the caller's own priority is untouched
    assert "".join(backend.stream_chat([{"role": "user", "content": "Say yes."}], Sampling(max_tokens=8)))
