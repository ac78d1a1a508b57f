"""Tenant-scoped Django admin, for the apps' admin modules: `class DocumentAdmin(TenantScopedAdmin, admin.ModelAdmin)`.

A platform operator (superuser) sees everything; other staff see only the tenants where they hold the admin role,
and another tenant's object answers like a missing one. The implementation lives with the memberships it reads
(cleanroom/tenants/admin.py), because the core apps' admins use it too and cleanroom.access sits above them: their
importing this package would be an import circle (`lint-imports`)."""

from cleanroom.tenants.admin import (
    TenantScopedAdmin,
    TenantScopedInline,
    administered_tenant_ids,
    object_tenant_id,
    scoped_choices,
)

__all__ = ["TenantScopedAdmin", "TenantScopedInline", "administered_tenant_ids", "object_tenant_id", "scoped_choices"]
