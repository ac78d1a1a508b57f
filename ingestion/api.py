from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cleanroom.access.permissions import IsTenantEditor, IsTenantMember
from cleanroom.access.resolution import request_actor, request_tenant
from cleanroom.api import Pagination
from cleanroom.errors import ServiceError
from ingestion.deletion import document_delete
from ingestion.models import Document
from ingestion.selectors import document_get, document_list
from ingestion.upload import document_upload


class DocumentOutputSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "filename",
            "media_type",
            "size_bytes",
            "status",
            "error",
            "redaction_counts",
            "chunk_count",
            "created_at",
            "updated_at",
            "finished_at",
            "steps",
        ]

    def get_error(self, document: Document) -> dict[str, str] | None:
        if document.status != Document.Status.FAILED:
            return None
        return {"code": document.error_code, "message": document.error_message}


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="The document: PDF, DOCX, PPTX, XLSX, CSV, e-mail (.eml), HTML, Markdown or text.",
    )
    title = serializers.CharField(required=False, allow_blank=True, max_length=300)
    reingest = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Process the file again even if the tenant already has these exact bytes.",
    )


class DocumentUploadOutputSerializer(DocumentOutputSerializer):
    duplicate = serializers.BooleanField(
        help_text="True when the tenant already had these bytes: `id` is the existing document's."
    )

    class Meta(DocumentOutputSerializer.Meta):
        fields = [*DocumentOutputSerializer.Meta.fields, "duplicate"]


class DocumentListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    def get_permissions(self) -> list:
        return [IsTenantEditor()] if self.request.method == "POST" else [IsTenantMember()]

    @extend_schema(responses=DocumentOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        status_filter = request.query_params.get("status")
        if status_filter and status_filter not in Document.Status.values:
            raise ServiceError(
                "invalid_input",
                f"status must be one of {', '.join(Document.Status.values)}.",
                status_code=400,
            )
        page = paginator.paginate_queryset(document_list(tenant=request_tenant(request), status=status_filter), request)
        return paginator.get_paginated_response(DocumentOutputSerializer(page, many=True).data)

    @extend_schema(
        request=DocumentUploadSerializer,
        responses={202: DocumentUploadOutputSerializer, 200: DocumentUploadOutputSerializer},
        description="202: queued for ingestion (new, or re-ingestion asked for). 200: the tenant already has these "
        "exact bytes; nothing was queued and the body is the existing document with `duplicate: true`.",
    )
    def post(self, request: Request) -> Response:
        # Copying request.data would deep-copy the uploaded file; pick the fields instead.
        data = {key: request.data[key] for key in ("file", "title", "reingest") if key in request.data}  # type: ignore[call-overload]  # a QueryDict
        if "reingest" not in data and "reingest" in request.query_params:
            data["reingest"] = request.query_params["reingest"]
        serializer = DocumentUploadSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        outcome = document_upload(
            tenant=request_tenant(request),
            user=request_actor(request),
            upload=serializer.validated_data["file"],
            title=serializer.validated_data.get("title", ""),
            reingest=serializer.validated_data["reingest"],
        )
        outcome.document.duplicate = outcome.duplicate  # type: ignore[attr-defined]
        queued = not outcome.duplicate or serializer.validated_data["reingest"]
        return Response(
            DocumentUploadOutputSerializer(outcome.document).data,
            status=status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK,
        )


class DocumentDetailApi(APIView):
    def get_permissions(self) -> list:
        return [IsTenantEditor()] if self.request.method == "DELETE" else [IsTenantMember()]

    def _get(self, request: Request, document_id: str) -> Document:
        document = document_get(tenant=request_tenant(request), document_id=document_id)
        if document is None:
            raise ServiceError("not_found", "No such object.", status_code=404)
        return document

    @extend_schema(responses=DocumentOutputSerializer)
    def get(self, request: Request, document_id: str) -> Response:
        return Response(DocumentOutputSerializer(self._get(request, document_id)).data)

    def delete(self, request: Request, document_id: str) -> Response:
        document_delete(
            tenant=request_tenant(request), user=request_actor(request), document=self._get(request, document_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
