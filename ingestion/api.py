from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cleanroom.access.permissions import IsTenantEditor, IsTenantMember, IsTenantReviewer
from cleanroom.access.resolution import request_actor, request_tenant
from cleanroom.api import Pagination, paginated
from cleanroom.errors import ServiceError
from ingestion.deletion import document_delete
from ingestion.models import Document, ReviewItem
from ingestion.review import review_decide, review_document_texts, review_queue, review_release
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
        help_text="The document: PDF, a scan or photo (PNG, JPEG, TIFF, WebP), DOCX, PPTX, XLSX, CSV, e-mail (.eml), "
        "HTML, Markdown or text.",
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

    @extend_schema(
        operation_id="api_v1_documents_list", responses=paginated(DocumentOutputSerializer, "PaginatedDocuments")
    )
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

    @extend_schema(responses={204: None}, description="Deletes the document, its chunks, vectors and keyed hashes.")
    def delete(self, request: Request, document_id: str) -> Response:
        document_delete(
            tenant=request_tenant(request), user=request_actor(request), document=self._get(request, document_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReviewItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewItem
        fields = ["id", "text_index", "start", "end", "entity_type", "score", "decision", "decided_at"]


class ReviewItemWithValueSerializer(ReviewItemSerializer):
    value = serializers.CharField(help_text="The uncertain value, for the reviewer's eyes only.")
    before = serializers.CharField(help_text="Up to 80 characters of the stored text before it.")
    after = serializers.CharField(help_text="Up to 80 characters after it.")

    class Meta(ReviewItemSerializer.Meta):
        fields = [*ReviewItemSerializer.Meta.fields, "value", "before", "after"]


class ReviewDocumentSerializer(DocumentOutputSerializer):
    pending = serializers.IntegerField(read_only=True)

    class Meta(DocumentOutputSerializer.Meta):
        fields = [*DocumentOutputSerializer.Meta.fields, "pending"]


class ReviewDecisionSerializer(serializers.Serializer):
    item = serializers.IntegerField(help_text="A review item id of this document.")
    decision = serializers.ChoiceField(choices=[ReviewItem.Decision.CONFIRMED, ReviewItem.Decision.REJECTED])
    remember = serializers.BooleanField(
        default=False,
        help_text="Also change the tenant's policy: a rejected value becomes an allow term, a confirmed one a deny "
        "term, applied to every document from then on.",
    )


class ReviewDecisionsSerializer(serializers.Serializer):
    decisions = serializers.ListField(child=ReviewDecisionSerializer(), allow_empty=False, max_length=1000)


def _held_document(request: Request, document_id: str) -> Document:
    document = document_get(tenant=request_tenant(request), document_id=document_id)
    if document is None:
        raise ServiceError("not_found", "No such object.", status_code=404)
    return document


class ReviewListApi(APIView):
    """Documents held for review: the second pass found values the tenant's policy asks a person to decide on."""

    permission_classes = [IsTenantReviewer]

    @extend_schema(
        operation_id="api_v1_review_list", responses=paginated(ReviewDocumentSerializer, "PaginatedReviewDocuments")
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(review_queue(tenant=request_tenant(request)), request)
        return paginator.get_paginated_response(ReviewDocumentSerializer(page, many=True).data)


class ReviewDetailApi(APIView):
    permission_classes = [IsTenantReviewer]

    @extend_schema(
        responses=inline_serializer(
            "ReviewDocumentDetail",
            {"document": DocumentOutputSerializer(), "items": ReviewItemWithValueSerializer(many=True)},
        ),
        description="The held document's uncertain values: where they are in its stored texts (text index and "
        "offsets), their type, score and decision, and each value with some context for the reviewer.",
    )
    def get(self, request: Request, document_id: str) -> Response:
        document = _held_document(request, document_id)
        items = []
        for text in review_document_texts(document=document):
            for n, segment in enumerate(text.segments):
                if segment.item is None:
                    continue
                before = text.segments[n - 1].text[-80:] if n else ""
                after = text.segments[n + 1].text[:80] if n + 1 < len(text.segments) else ""
                items.append(
                    {**ReviewItemSerializer(segment.item).data, "value": segment.text, "before": before, "after": after}
                )
        return Response({"document": DocumentOutputSerializer(document).data, "items": items})


class ReviewDecisionsApi(APIView):
    permission_classes = [IsTenantReviewer]

    @extend_schema(
        request=ReviewDecisionsSerializer,
        responses=inline_serializer(
            "ReviewDecisionOutcome",
            {
                "decided": serializers.IntegerField(),
                "pending": serializers.IntegerField(),
                "allow_terms_added": serializers.IntegerField(),
                "deny_terms_added": serializers.IntegerField(),
            },
        ),
    )
    def post(self, request: Request, document_id: str) -> Response:
        document = _held_document(request, document_id)
        serializer = ReviewDecisionsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = serializer.validated_data["decisions"]
        outcome = review_decide(
            document=document,
            actor=request_actor(request),
            decisions={row["item"]: row["decision"] for row in rows},
            remember={row["item"] for row in rows if row["remember"]},
        )
        return Response(outcome)


class ReviewReleaseApi(APIView):
    permission_classes = [IsTenantReviewer]

    @extend_schema(request=None, responses={202: DocumentOutputSerializer})
    def post(self, request: Request, document_id: str) -> Response:
        document = review_release(document=_held_document(request, document_id), actor=request_actor(request))
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED)
