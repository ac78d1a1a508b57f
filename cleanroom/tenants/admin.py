from django.contrib import admin

from cleanroom.tenants.models import ApiToken, Membership, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "home_region", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by `bootstrap_tenant` or the API; admin can only inspect and revoke them."""

    list_display = ["key_prefix", "name", "membership", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["membership__tenant"]
    readonly_fields = ["membership", "key_prefix", "key_hash", "created_at", "last_used_at"]
    fields = ["membership", "name", "key_prefix", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False
