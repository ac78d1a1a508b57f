from __future__ import annotations

import json
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
from retrieval.search import passage_search
from retrieval.selectors import SEARCH_MODES
from retrieval.services import Answer, Token, answer_stream, question_prepare

# Search results are cheap (no model reads them), so a client may ask for a longer list than for answers.
MAX_SEARCH_TOP_K = 100


class QueryInputSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=4000, trim_whitespace=True)
    top_k = serializers.IntegerField(min_value=1, max_value=settings.MAX_TOP_K, default=5)
    stream = serializers.BooleanField(default=False)
    model = serializers.CharField(max_length=200, required=False, help_text="A model id from GET /v1/models.")


class CitationSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    document_id = serializers.UUIDField()
    chunk_id = serializers.IntegerField()
    title = serializers.CharField()
    snippet = serializers.CharField()
    score = serializers.FloatField()


class QueryOutputSerializer(serializers.Serializer):
    answer = serializers.CharField()
    citations = CitationSerializer(many=True)
    abstained = serializers.BooleanField()
    model = serializers.CharField()


def answer_payload(answer: Answer) -> dict[str, Any]:
    return {
        "answer": answer.answer,
        "citations": [asdict(citation) for citation in answer.citations],
        "abstained": answer.abstained,
        "model": answer.model,
    }


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def event_stream_response(events: Iterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a reverse proxy must not hold the tokens back
    return response


def _query_events(stream: Iterator[Token | Answer]) -> Iterator[str]:
    try:
        for item in stream:
            if isinstance(item, Token):
                yield sse("token", {"text": item.text})
            else:
                yield sse("answer", answer_payload(item))
    except ServiceError as exc:  # e.g. a remote model server failing mid-answer: the status line is already sent
        yield sse("error", {"error": {"code": exc.code, "message": exc.message}})


class QueryApi(APIView):
    @extend_schema(
        request=QueryInputSerializer,
        responses=QueryOutputSerializer,
        description='With `"stream": true` the answer comes as server-sent events: `token` events '
        '(`{"text"}`) as the model writes, then one `answer` event with the checked answer and its citations. '
        "The `answer` event is authoritative: when the service abstains, it replaces the streamed text.",
    )
    def post(self, request: Request) -> Response | StreamingHttpResponse:
        serializer = QueryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # Residency, model and retrieval errors surface here, before a streamed response has committed to 200.
        prepared = question_prepare(
            tenant=request_tenant(request), question=data["question"], top_k=data["top_k"], model=data.get("model")
        )
        stream = answer_stream(prepared=prepared, user=request_actor(request))
        if data["stream"]:
            return event_stream_response(_query_events(stream))
        *_, answer = stream
        assert isinstance(answer, Answer)
        return Response(answer_payload(answer))


class SearchInputSerializer(serializers.Serializer):
    query = serializers.CharField(max_length=4000, trim_whitespace=True)
    top_k = serializers.IntegerField(min_value=1, max_value=MAX_SEARCH_TOP_K, default=10)
    mode = serializers.ChoiceField(choices=SEARCH_MODES, default="hybrid")


class SearchHitSerializer(serializers.Serializer):
    document_id = serializers.UUIDField()
    title = serializers.CharField()
    chunk_id = serializers.IntegerField()
    snippet = serializers.CharField()
    score = serializers.FloatField(help_text="What hits are ordered by: fused rank score in (0, 1] for hybrid.")


class SearchOutputSerializer(serializers.Serializer):
    results = SearchHitSerializer(many=True)


class SearchApi(APIView):
    """Ranked passages for a query, without generating an answer."""

    @extend_schema(request=SearchInputSerializer, responses=SearchOutputSerializer)
    def post(self, request: Request) -> Response:
        serializer = SearchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hits = passage_search(
            tenant=request_tenant(request),
            user=request_actor(request),
            query=serializer.validated_data["query"],
            top_k=serializer.validated_data["top_k"],
            mode=serializer.validated_data["mode"],
        )
        return Response({"results": [asdict(hit) for hit in hits]})
