from django.contrib import admin

from ingestion.models import Chunk, Document


class ChunkInline(admin.TabularInline):
    """Chunks are produced by the pipeline from redacted text; nobody edits them by hand."""

    model = Chunk
    fields = ["ordinal", "section", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    max_num = 0

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "tenant", "status", "step_started_at", "media_type", "chunk_count", "created_at"]
    list_filter = ["status", "tenant", "media_type"]
    search_fields = ["title", "id"]
    readonly_fields = [
        "id",
        "tenant",
        "uploaded_by",
        "title",
        "filename",
        "media_type",
        "size_bytes",
        "content_sha256",
        "status",
        "attempts",
        "step_started_at",
        "steps",
        "claim_token",
        "error_code",
        "error_message",
        "redaction_counts",
        "manifest",
        "chunk_count",
        "created_at",
        "updated_at",
        "processing_started_at",
        "finished_at",
    ]
    inlines = [ChunkInline]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False  # documents arrive through upload, which redacts them


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ["document", "ordinal", "tenant", "section"]
    list_filter = ["tenant"]
    readonly_fields = ["tenant", "document", "ordinal", "section", "text", "created_at"]
    exclude = ["embedding"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
