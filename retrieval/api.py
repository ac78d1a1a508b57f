from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, TypeVar

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cleanroom.access.resolution import request_actor, request_tenant, request_token_scopes
from cleanroom.api import Pagination, paginated
from cleanroom.errors import ServiceError
from cleanroom.tenants.models import Scope
from cleanroom.vault.display import Revealer, vault_display_start
from retrieval.conversations import (
    PreparedTurn,
    TurnResult,
    conversation_create,
    conversation_delete,
    conversation_get,
    conversation_list,
    conversation_messages,
    turn_prepare,
    turn_stream,
)
from retrieval.feedback import answer_get, feedback_give
from retrieval.models import Conversation, Message
from retrieval.search import passage_search
from retrieval.selectors import SEARCH_MODES
from retrieval.services import Answer, Token, answer_stream, question_prepare

REVEAL_HELP = (
    "Show the real values behind pseudonyms (<PERSON_7f3a9c12>) in the answer and its citations. Needs the "
    "vault.reveal_pseudonym permission, membership of the tenant and, for an API token, its `reveal` scope "
    "(403 `reveal_not_permitted` otherwise). Resolved at display time and audited once per response; what is "
    "stored keeps the pseudonyms."
)

# Search results are cheap (no model reads them), so a client may ask for a longer list than for answers.
MAX_SEARCH_TOP_K = 100


class QueryInputSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=4000, trim_whitespace=True)
    top_k = serializers.IntegerField(min_value=1, max_value=settings.MAX_TOP_K, default=5)
    stream = serializers.BooleanField(default=False)
    model = serializers.CharField(max_length=200, required=False, help_text="A model id from GET /v1/models.")
    reveal = serializers.BooleanField(default=False, help_text=REVEAL_HELP)


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
    revealed = serializers.IntegerField(help_text="How many distinct real values replaced pseudonyms (reveal).")


def answer_payload(answer: Answer, revealer: Revealer | None = None) -> dict[str, Any]:
    citations = [asdict(citation) for citation in answer.citations]
    return {
        "answer": revealer.text(answer.answer, where="answer") if revealer else answer.answer,
        "citations": revealer.citations(citations) if revealer else citations,
        "abstained": answer.abstained,
        "model": answer.model,
        "revealed": revealer.revealed if revealer else 0,
    }


R = TypeVar("R", Response, StreamingHttpResponse)


def private(response: R, revealer: Revealer | None) -> R:
    """A response that shows real values is not for any cache, the browser's or a proxy's."""
    if revealer is not None:
        response["Cache-Control"] = "no-store"
    return response


def request_revealer(request: Request, reveal: bool) -> Revealer | None:
    """The response's Revealer when the client asked for real values (403 if it may not), else None: pseudonyms."""
    if not reveal:
        return None
    return vault_display_start(
        tenant=request_tenant(request),
        user=request_actor(request),
        token_scopes=request_token_scopes(request),
        where="answer",
    )


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def event_stream_response(events: Iterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a reverse proxy must not hold the tokens back
    return response


def _token_events(stream: Iterator[Any], revealer: Revealer | None) -> Iterator[str | Any]:
    """`token` events for the model's pieces of text (with real values once each pseudonym is complete, when
    revealing), passing anything else (the final answer) through."""
    pieces = revealer.stream() if revealer else None
    for item in stream:
        if not isinstance(item, Token):
            if pieces is not None and (rest := pieces.flush()):
                yield sse("token", {"text": rest})
            yield item
        elif pieces is None:
            yield sse("token", {"text": item.text})
        elif text := pieces.feed(item.text):
            yield sse("token", {"text": text})


def _query_events(stream: Iterator[Token | Answer], revealer: Revealer | None = None) -> Iterator[str]:
    try:
        for item in _token_events(stream, revealer):
            yield item if isinstance(item, str) else sse("answer", answer_payload(item, revealer))
    except ServiceError as exc:  # e.g. a remote model server failing mid-answer: the status line is already sent
        yield sse("error", {"error": {"code": exc.code, "message": exc.message}})
    finally:  # also when the client goes away mid-stream: what was shown is audited
        if revealer is not None:
            revealer.finish()


class QueryApi(APIView):
    token_scopes = {"POST": Scope.QUERY}
    answer_methods = ("POST",)  # a model answer each: the answer rate limit applies

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
        revealer = request_revealer(request, data["reveal"])  # refused before any work is done
        # Residency, model and retrieval errors surface here, before a streamed response has committed to 200.
        prepared = question_prepare(
            tenant=request_tenant(request), question=data["question"], top_k=data["top_k"], model=data.get("model")
        )
        stream = answer_stream(prepared=prepared, user=request_actor(request))
        if data["stream"]:
            return private(event_stream_response(_query_events(stream, revealer)), revealer)
        *_, answer = stream
        assert isinstance(answer, Answer)
        payload = answer_payload(answer, revealer)
        if revealer is not None:
            revealer.finish()
        return private(Response(payload), revealer)


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

    token_scopes = {"POST": Scope.READ}

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


# --- Conversations and feedback -------------------------------------------------------------------------------


class ConversationCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.CharField()
    text = serializers.CharField(help_text="The question as redacted on arrival, or the answer.")
    standalone_question = serializers.CharField(help_text="User turns: what was searched and answered.")
    rewrite_method = serializers.CharField(help_text="User turns: unchanged, rules or model.")
    citations = CitationSerializer(many=True)
    abstained = serializers.BooleanField()
    model = serializers.CharField()
    created_at = serializers.DateTimeField()


class ConversationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ConversationDetailSerializer(ConversationOutputSerializer):
    messages = MessageOutputSerializer(many=True)


class ConversationMessageInputSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=4000, trim_whitespace=True, help_text="The question or follow-up.")
    top_k = serializers.IntegerField(min_value=1, max_value=settings.MAX_TOP_K, default=5)
    stream = serializers.BooleanField(default=False)
    model = serializers.CharField(max_length=200, required=False, help_text="A model id from GET /v1/models.")
    reveal = serializers.BooleanField(default=False, help_text=REVEAL_HELP)


class TurnOutputSerializer(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    standalone_question = serializers.CharField()
    rewrite_method = serializers.CharField()
    question = MessageOutputSerializer()
    answer = MessageOutputSerializer()
    revealed = serializers.IntegerField(help_text="How many distinct real values replaced pseudonyms (reveal).")


class FeedbackInputSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=["up", "down"])
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class FeedbackOutputSerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    rating = serializers.CharField()
    comment = serializers.CharField(help_text="As stored: redacted.")
    updated_at = serializers.DateTimeField()


def message_payload(message: Message, revealer: Revealer | None = None) -> dict[str, Any]:
    where = "answer" if message.role == Message.Role.ASSISTANT else "question"
    return {
        "id": message.pk,
        "role": message.role,
        "text": revealer.text(message.text, where=where) if revealer else message.text,
        "standalone_question": (
            revealer.text(message.standalone_question, where="question") if revealer else message.standalone_question
        ),
        "rewrite_method": message.rewrite_method,
        "citations": revealer.citations(message.citations) if revealer else message.citations,
        "abstained": message.abstained,
        "model": message.model,
        "created_at": message.created_at.isoformat(),
    }


def conversation_payload(
    conversation: Conversation, messages: list[Message] | None = None, revealer: Revealer | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(conversation.pk),
        "title": revealer.text(conversation.title, where="question") if revealer else conversation.title,
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
    }
    if messages is not None:
        body["messages"] = [message_payload(m, revealer) for m in messages]
    return body


def turn_payload(result: TurnResult, revealer: Revealer | None = None) -> dict[str, Any]:
    question = message_payload(result.question, revealer)
    return {
        "conversation_id": str(result.question.conversation_id),
        "standalone_question": question["standalone_question"],
        "rewrite_method": result.question.rewrite_method,
        "question": question,
        "answer": message_payload(result.answer_message, revealer),
        "revealed": revealer.revealed if revealer else 0,
    }


def _own_conversation(request: Request, conversation_id: str) -> Conversation:
    user = request_actor(request)
    conversation = (
        conversation_get(tenant=request_tenant(request), user=user, conversation_id=conversation_id) if user else None
    )
    if conversation is None:
        raise ServiceError("not_found", "No such object.", status_code=404)
    return conversation


class ConversationListApi(APIView):
    token_scopes = {"POST": Scope.QUERY}

    @extend_schema(
        operation_id="api_v1_conversations_list",
        responses=paginated(ConversationOutputSerializer, "PaginatedConversations"),
    )
    def get(self, request: Request) -> Response:
        user = request_actor(request)
        assert user is not None  # IsTenantMember
        paginator = Pagination()
        page = paginator.paginate_queryset(conversation_list(tenant=request_tenant(request), user=user), request)
        return paginator.get_paginated_response([conversation_payload(c) for c in page or []])

    @extend_schema(request=ConversationCreateSerializer, responses={201: ConversationOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = ConversationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request_actor(request)
        assert user is not None
        conversation = conversation_create(
            tenant=request_tenant(request), user=user, title=serializer.validated_data["title"]
        )
        return Response(conversation_payload(conversation), status=status.HTTP_201_CREATED)


class ConversationDetailApi(APIView):
    token_scopes = {"DELETE": Scope.QUERY}

    @extend_schema(
        responses=ConversationDetailSerializer,
        parameters=[OpenApiParameter("reveal", bool, description=REVEAL_HELP, default=False)],
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        conversation = _own_conversation(request, conversation_id)
        reveal = serializers.BooleanField().to_internal_value(request.query_params.get("reveal", "false"))
        revealer = request_revealer(request, reveal)
        messages = conversation_messages(conversation=conversation)
        payload = conversation_payload(conversation, messages, revealer)
        if revealer is not None:
            revealer.finish(conversation_id=str(conversation.pk))
        return private(Response(payload), revealer)

    @extend_schema(responses={204: None}, description="Deletes the conversation and its messages.")
    def delete(self, request: Request, conversation_id: str) -> Response:
        conversation = _own_conversation(request, conversation_id)
        user = request_actor(request)
        assert user is not None
        conversation_delete(tenant=request_tenant(request), user=user, conversation=conversation)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _turn_events(
    turn: PreparedTurn, stream: Iterator[Token | TurnResult], revealer: Revealer | None = None
) -> Iterator[str]:
    answer_id: int | None = None
    try:
        question = message_payload(turn.question, revealer)
        yield sse(
            "question",
            {
                "conversation_id": str(turn.conversation.pk),
                "standalone_question": question["standalone_question"],
                "rewrite_method": turn.rewrite.method,
                "question": question,
            },
        )
        for item in _token_events(stream, revealer):
            if isinstance(item, str):
                yield item
            else:
                answer_id = item.answer_message.pk
                yield sse("answer", turn_payload(item, revealer))
    except ServiceError as exc:
        yield sse("error", {"error": {"code": exc.code, "message": exc.message}})
    finally:
        if revealer is not None:
            revealer.finish(conversation_id=str(turn.conversation.pk), message_id=answer_id)


class ConversationMessagesApi(APIView):
    token_scopes = {"POST": Scope.QUERY}
    answer_methods = ("POST",)  # a model answer each: the answer rate limit applies

    @extend_schema(
        request=ConversationMessageInputSerializer,
        responses={201: TurnOutputSerializer},
        description="Ask in a conversation. The message is redacted, rewritten into a question that stands alone "
        "using the earlier turns (`standalone_question`; `rewrite_method` says whether it was unchanged, rewritten "
        'by rules or by the model), then answered like POST /api/v1/query. With `"stream": true`: a `question` '
        "event, `token` events, then an `answer` event (authoritative, as for /query).",
    )
    def post(self, request: Request, conversation_id: str) -> Response | StreamingHttpResponse:
        conversation = _own_conversation(request, conversation_id)
        serializer = ConversationMessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request_actor(request)
        assert user is not None
        revealer = request_revealer(request, data["reveal"])  # refused before the message is stored
        turn = turn_prepare(
            tenant=request_tenant(request),
            user=user,
            conversation=conversation,
            text=data["content"],
            top_k=data["top_k"],
            model=data.get("model"),
        )
        stream = turn_stream(turn=turn, user=user)
        if data["stream"]:
            return private(event_stream_response(_turn_events(turn, stream, revealer)), revealer)
        *_, result = stream
        assert isinstance(result, TurnResult)
        payload = turn_payload(result, revealer)
        if revealer is not None:
            revealer.finish(conversation_id=str(turn.conversation.pk), message_id=result.answer_message.pk)
        return private(Response(payload, status=status.HTTP_201_CREATED), revealer)


class AnswerFeedbackApi(APIView):
    token_scopes = {"POST": Scope.QUERY}

    @extend_schema(
        request=FeedbackInputSerializer,
        responses=FeedbackOutputSerializer,
        description="Rate an answer (an assistant message of one of your conversations): up or down, with an "
        "optional comment (redacted before it is stored or audited). Rating again replaces your earlier rating.",
    )
    def post(self, request: Request, message_id: str) -> Response:
        user = request_actor(request)
        tenant = request_tenant(request)
        message = answer_get(tenant=tenant, user=user, message_id=message_id) if user else None
        if message is None or user is None:
            raise ServiceError("not_found", "No such object.", status_code=404)
        serializer = FeedbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        feedback = feedback_give(
            tenant=tenant,
            user=user,
            message=message,
            rating=serializer.validated_data["rating"],
            comment=serializer.validated_data["comment"],
        )
        return Response(
            {
                "message_id": message.pk,
                "rating": feedback.rating,
                "comment": feedback.comment,
                "updated_at": feedback.updated_at.isoformat(),
            }
        )
