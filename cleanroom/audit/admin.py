from django.contrib import admin

from cleanroom.audit.models import AuditEvent
from cleanroom.tenants.admin import TenantScopedAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """Read-only: the trail is append-only, and `manage.py audit verify` detects any change. A tenant administrator
    sees their tenants' events (by the `tenant` foreign key); events of no tenant are the operator's."""

    # The entry stores the actor as "user:<id>"; `actor` shows who that is while the user exists.
    list_display = ["created_at", "tenant_slug", "actor", "actor_label", "action", "target_type", "target_id"]
    list_filter = ["action", "tenant_slug"]
    list_select_related = ["actor"]
    search_fields = ["action", "target_id", "actor_label", "actor__username"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
