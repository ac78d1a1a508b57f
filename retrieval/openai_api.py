"""OpenAI-compatible endpoints, so any OpenAI client gets grounded, cited answers from the tenant's documents.

`POST /v1/chat/completions` answers the last user message from the tenant's documents, exactly as
`POST /api/v1/query` does, after rewriting it into a question that stands alone from the earlier user and assistant
messages the client sends (retrieval/conversations.py: a follow-up such as "and for contractors?" is not searched as
is); the client's own system messages and sampling settings are ignored, because the grounding rules and
deterministic sampling are the service's, not the caller's. Citations appear in the content as [n] with a
"Sources" list, and machine-readably in an extra `citations` field.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cleanroom.access.resolution import request_actor, request_tenant
from cleanroom.errors import ServiceError
from cleanroom.tenants.models import Scope
from retrieval.api import event_stream_response
from retrieval.conversations import Rewrite, transcript_rewrite
from retrieval.llm import available_models
from retrieval.services import Answer, Token, answer_stream, question_prepare

OWNER = "cleanroom"
HISTORY_MESSAGES = 8  # earlier user/assistant messages used for the rewrite; older ones rarely matter
HISTORY_CHARS = 4000


class MessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "developer", "user", "assistant", "tool"])
    content = serializers.JSONField(required=False, allow_null=True)


class ChatInputSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=200, required=False, allow_blank=True)
    messages = MessageSerializer(many=True, allow_empty=False)
    stream = serializers.BooleanField(default=False)
    max_tokens = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    max_completion_tokens = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    top_k = serializers.IntegerField(min_value=1, max_value=settings.MAX_TOP_K, default=5)

    def validate_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not any(message["role"] == "user" and _text(message.get("content")) for message in messages):
            raise serializers.ValidationError("There is no user message with text to answer.")
        return messages


def _text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        return " ".join(
            part["text"].strip()
            for part in content
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        ).strip()
    return ""


def _conversation(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The user and assistant messages with text, up to the last user message (the question), most recent last."""
    turns = [
        (m["role"], _text(m.get("content")))
        for m in messages
        if m["role"] in ("user", "assistant") and _text(m.get("content"))
    ]
    last = max(i for i, (role, _) in enumerate(turns) if role == "user")
    if len(turns[last][1]) > 4000:
        raise ServiceError("invalid_input", "The last user message is longer than 4000 characters.")
    earlier = [(role, text[:HISTORY_CHARS]) for role, text in turns[:last][-HISTORY_MESSAGES:]]
    return [*earlier, turns[last]]


def _sources(answer: Answer, rewrite: Rewrite | None = None) -> str:
    footer = ""
    if answer.citations:
        heading = "Closest passages" if answer.abstained else "Sources"
        lines = [f"[{c.number}] {c.title or 'Untitled'} (document {c.document_id})" for c in answer.citations]
        footer = f"\n\n{heading}:\n" + "\n".join(lines)
    if rewrite is not None and rewrite.changed:  # the user sees what was actually searched and answered
        footer += f"\n\nQuestion as understood: {answer.question_redacted or rewrite.question}"
    return footer


def _extra(answer: Answer, rewrite: Rewrite | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "citations": [asdict(citation) for citation in answer.citations],
        "abstained": answer.abstained,
    }
    if rewrite is not None:
        extra |= {"standalone_question": answer.question_redacted, "rewrite_method": rewrite.method}
    return extra


class ModelsApi(APIView):
    token_scopes = {"GET": (Scope.READ, Scope.QUERY)}

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(
            {
                "object": "list",
                "data": [
                    {"id": model_id, "object": "model", "created": 0, "owned_by": OWNER}
                    for model_id in available_models()
                ],
            }
        )


class ChatCompletionsApi(APIView):
    token_scopes = {"POST": Scope.QUERY}
    answer_methods = ("POST",)  # a model answer each: the answer rate limit applies

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response | StreamingHttpResponse:
        serializer = ChatInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant, user = request_tenant(request), request_actor(request)
        turns = _conversation(data["messages"])
        rewrite: Rewrite | None = None
        question = turns[-1][1]
        if len(turns) > 1:
            rewrite = transcript_rewrite(tenant=tenant, user=user, messages=turns, model=data.get("model") or None)
            question = rewrite.question
        prepared = question_prepare(
            tenant=tenant,
            question=question,
            top_k=data["top_k"],
            model=data.get("model") or None,
            max_tokens=data.get("max_completion_tokens") or data.get("max_tokens"),
        )
        stream = answer_stream(prepared=prepared, user=user)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        model = prepared.backend.model_id if prepared.backend else (data.get("model") or _default_model())
        if data["stream"]:
            return event_stream_response(
                _chunks(stream, completion_id=completion_id, created=created, model=model, rewrite=rewrite)
            )
        *_, answer = stream
        assert isinstance(answer, Answer)
        return Response(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.answer + _sources(answer, rewrite)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": answer.prompt_tokens,
                    "completion_tokens": answer.completion_tokens,
                    "total_tokens": answer.prompt_tokens + answer.completion_tokens,
                },
                **_extra(answer, rewrite),
            }
        )


def _default_model() -> str:
    models = available_models()
    return models[0] if models else ""


def _chunks(
    stream: Iterator[Token | Answer], *, completion_id: str, created: int, model: str, rewrite: Rewrite | None = None
) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    streamed = False
    try:
        for item in stream:
            if isinstance(item, Token):
                streamed = True
                yield chunk({"content": item.text})
                continue
            if item.abstained and streamed:
                # What was streamed did not pass the support check; say so rather than leave it standing.
                tail = f"\n\n[Withdrawn by the service: {item.answer}]"
            elif item.abstained:
                tail = item.answer
            else:
                tail = ""
            tail += _sources(item, rewrite)
            if tail:
                yield chunk({"content": tail})
            yield chunk({}, "stop", **_extra(item, rewrite))
    except ServiceError as exc:
        yield f"data: {json.dumps({'error': {'code': exc.code, 'message': exc.message}})}\n\n"
    yield "data: [DONE]\n\n"
