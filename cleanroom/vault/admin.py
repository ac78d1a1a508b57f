from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from cleanroom.errors import ServiceError
from cleanroom.tenants.admin import TenantScopedAdmin
from cleanroom.vault.models import VaultEntry
from cleanroom.vault.services import REVEAL_REASON_MAX_LENGTH, vault_reveal

REVEAL_LIMIT = 50  # values per reveal


class RevealReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REVEAL_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Why these values are needed (a request or ticket reference). It is stored in the audit trail as "
        "typed: do not write the data principal's name or other personal data here.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.", code="reason_required")
        return reason


@admin.register(VaultEntry)
class VaultEntryAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """Tokens and types only; values stay encrypted until a user with the reveal permission asks, giving a reason
    (audited). A tenant administrator sees, and may reveal, only their tenants' entries."""

    list_display = ["token", "entity_type", "tenant", "created_at"]
    list_filter = ["entity_type"]
    search_fields = ["token"]
    readonly_fields = ("tenant", "token", "entity_type", "created_at")
    fields = readonly_fields
    actions = ["reveal"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False  # only erasure destroys vault entries, with a receipt

    def has_reveal_permission(self, request) -> bool:  # noqa: ANN001
        return request.user.has_perm("vault.reveal_pseudonym")

    @admin.action(description="Reveal the selected values (asks for a reason; audited)", permissions=["reveal"])
    def reveal(self, request, queryset):  # noqa: ANN001, ANN201
        # `queryset` is the changelist's, so already limited to the tenants this user administers.
        entries = list(queryset[:REVEAL_LIMIT])
        form = RevealReasonForm(request.POST if "reveal_confirmed" in request.POST else None)
        if not entries:
            self.message_user(request, "None of the selected values can be revealed.", messages.WARNING)
            return None
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Why reveal these values?",
                "opts": self.model._meta,
                "form": form,
                "entries": entries,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "limit": REVEAL_LIMIT,
            }
            return TemplateResponse(request, "admin/vault/reveal_reason.html", context)
        reason = form.cleaned_data["reason"]
        rows = []
        for entry in entries:
            try:
                value = vault_reveal(tenant=entry.tenant, token=entry.token, actor=request.user, reason=reason)
            except ServiceError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return None
            rows.append((entry.token, value))
        context = {**self.admin_site.each_context(request), "rows": rows, "opts": self.model._meta}
        response = TemplateResponse(request, "admin/vault/reveal.html", context)
        response["Cache-Control"] = "no-store"
        return response
