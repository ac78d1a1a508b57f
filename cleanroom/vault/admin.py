from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html

from cleanroom.errors import ServiceError
from cleanroom.vault.models import ErasureReceipt, VaultEntry
from cleanroom.vault.services import erasure_execute, vault_reveal


@admin.register(VaultEntry)
class VaultEntryAdmin(admin.ModelAdmin):
    """Tokens and types only; values stay encrypted until a user with the reveal permission asks (audited)."""

    list_display = ["token", "entity_type", "tenant", "created_at"]
    list_filter = ["entity_type"]
    search_fields = ["token"]
    fields = ["tenant", "token", "entity_type", "created_at"]
    readonly_fields = fields
    actions = ["reveal"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False  # only erasure destroys vault entries, with a receipt

    def has_reveal_permission(self, request) -> bool:  # noqa: ANN001
        return request.user.has_perm("vault.reveal_pseudonym")

    @admin.action(description="Reveal the selected values (audited)", permissions=["reveal"])
    def reveal(self, request, queryset):  # noqa: ANN001, ANN201
        rows = []
        for entry in queryset[:50]:
            try:
                rows.append((entry.token, vault_reveal(tenant=entry.tenant, token=entry.token, actor=request.user)))
            except ServiceError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return None
        context = {**self.admin_site.each_context(request), "rows": rows, "opts": self.model._meta}
        response = TemplateResponse(request, "admin/vault/reveal.html", context)
        response["Cache-Control"] = "no-store"
        return response


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

    class Meta:
        model = ErasureReceipt
        fields = ["tenant"]


@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(admin.ModelAdmin):
    """Adding an erasure runs it; the saved row is its receipt (read-only)."""

    list_display = ["created_at", "tenant", "mode", "requested_by", "verified"]
    list_filter = ["verified", "mode"]

    def get_form(self, request, obj=None, change=False, **kwargs):  # noqa: ANN001, ANN201
        if obj is None:
            kwargs["form"] = ErasureForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):  # noqa: ANN001, ANN201
        if obj is None:
            return ["tenant", "identifier", "mode"]
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
