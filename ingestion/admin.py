import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from cleanroom.access.admin import TenantScopedAdmin, TenantScopedInline
from cleanroom.vault.models import ErasureReceipt
from ingestion.erasure import erasure_execute, erasure_preview
from ingestion.models import Chunk, Document


class ChunkInline(TenantScopedInline, admin.TabularInline):
    """Chunks are produced by the pipeline from redacted text; nobody edits them by hand."""

    model = Chunk
    readonly_fields = ("ordinal", "section", "text")
    fields = readonly_fields
    extra = 0
    can_delete = False
    show_change_link = False
    max_num = 0

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Document)
class DocumentAdmin(TenantScopedAdmin, admin.ModelAdmin):
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
class ChunkAdmin(TenantScopedAdmin, admin.ModelAdmin):
    list_display = ["document", "ordinal", "tenant", "section"]
    list_filter = ["tenant"]
    readonly_fields = ["tenant", "document", "ordinal", "section", "text", "created_at"]
    exclude = ["embedding"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


# The receipt model is the vault's; running an erasure rewrites documents, so its admin lives here.
class ErasureForm(forms.ModelForm):
    identifier = forms.CharField(
        max_length=300,
        help_text="E-mail, phone, Aadhaar, PAN or name of the data principal. It is used for this request only and "
        "never stored: the receipt keeps a fingerprint.",
    )
    mode = forms.ChoiceField(
        choices=[
            ("redact", "Re-redact: keep the documents, replace every mention and pseudonym, re-embed"),
            ("remove", "Remove every document that mentioned the person"),
        ],
        initial="redact",
    )
    confirm_remove = forms.BooleanField(
        required=False,
        label="Yes, delete the documents",
        help_text="Removal deletes every document that mentioned the person, also one that only named them once. "
        "Submit without ticking to see how many documents that is.",
    )

    class Meta:
        model = ErasureReceipt
        fields = ["tenant"]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        tenant, identifier = cleaned.get("tenant"), (cleaned.get("identifier") or "").strip()
        if cleaned.get("mode") == "remove" and not cleaned.get("confirm_remove") and tenant and len(identifier) >= 3:
            plan = erasure_preview(tenant=tenant, identifier=identifier, actor=None, mode="remove")
            self.add_error(
                "confirm_remove",
                forms.ValidationError(
                    f"This would delete {len(plan['documents_to_remove'])} document(s) with their chunks. Tick to "
                    "confirm, or choose re-redaction, which keeps the documents.",
                    code="confirm_remove",
                ),
            )
        return cleaned


@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """Adding an erasure runs it; the saved row is its receipt (read-only)."""

    list_display = ["created_at", "tenant", "mode", "requested_by", "verified"]
    list_filter = ["verified", "mode"]

    def get_form(self, request, obj=None, change=False, **kwargs):  # noqa: ANN001, ANN201
        if obj is None:
            kwargs["form"] = ErasureForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):  # noqa: ANN001, ANN201
        if obj is None:
            return ["tenant", "identifier", "mode", "confirm_remove"]
        return ["tenant", "mode", "requested_by", "created_at", "verified", "identifier_fingerprint", "pretty"]

    def get_readonly_fields(self, request, obj=None):  # noqa: ANN001, ANN201
        return [] if obj is None else self.get_fields(request, obj)

    @admin.display(description="receipt")
    def pretty(self, obj: ErasureReceipt) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.receipt, indent=2))

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        receipt = erasure_execute(
            tenant=form.cleaned_data["tenant"],
            identifier=form.cleaned_data["identifier"],
            actor=request.user,
            mode=form.cleaned_data["mode"],
        )
        obj.pk = receipt.pk
        obj.__dict__.update({k: v for k, v in receipt.__dict__.items() if not k.startswith("_")})
        level = messages.SUCCESS if receipt.verified else messages.WARNING
        self.message_user(
            request,
            f"Erasure done: {len(receipt.receipt['documents_matched'])} document(s), "
            f"{receipt.receipt['vault_entries_destroyed']} vault entr(y/ies); verification "
            + ("clean." if receipt.verified else "found remaining traces, see the receipt."),
            level,
        )
