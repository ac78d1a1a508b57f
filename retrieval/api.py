from __future__ import annotations

from dataclasses import asdict

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from retrieval.search import passage_search
from retrieval.selectors import SEARCH_MODES
from retrieval.services import question_answer

# Search results are cheap (no model reads them), so a client may ask for a longer list than for answers.
MAX_SEARCH_TOP_K = 100


class QueryInputSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=4000, trim_whitespace=True)
    top_k = serializers.IntegerField(min_value=1, max_value=settings.MAX_TOP_K, default=5)


class CitationSerializer(serializers.Serializer):
    document_id = serializers.UUIDField()
    chunk_id = serializers.IntegerField()
    title = serializers.CharField()
    snippet = serializers.CharField()
    score = serializers.FloatField()


class QueryOutputSerializer(serializers.Serializer):
    answer = serializers.CharField()
    citations = CitationSerializer(many=True)
    abstained = serializers.BooleanField()


class QueryApi(APIView):
    @extend_schema(request=QueryInputSerializer, responses=QueryOutputSerializer)
    def post(self, request: Request) -> Response:
        serializer = QueryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = question_answer(
            tenant=request.tenant,
            user=request.user,
            question=serializer.validated_data["question"],
            top_k=serializer.validated_data["top_k"],
        )
        return Response(
            {
                "answer": answer.answer,
                "citations": [asdict(citation) for citation in answer.citations],
                "abstained": answer.abstained,
            }
        )


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
            tenant=request.tenant,
            user=request.user,
            query=serializer.validated_data["query"],
            top_k=serializer.validated_data["top_k"],
            mode=serializer.validated_data["mode"],
        )
        return Response({"results": [asdict(hit) for hit in hits]})
