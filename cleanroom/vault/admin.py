from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from cleanroom.errors import ServiceError
from cleanroom.vault.models import VaultEntry
from cleanroom.vault.services import vault_reveal


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
