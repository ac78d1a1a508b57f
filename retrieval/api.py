from __future__ import annotations

from dataclasses import asdict

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from retrieval.services import question_answer


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
