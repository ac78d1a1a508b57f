"""Django admin of tenants, memberships and tokens, and the tenant scoping every admin of the deployment mixes in
(re-exported for the apps as cleanroom/access/admin.py).

A platform operator (superuser) sees everything; any other staff user sees and edits only the rows of the tenants
they administer (a membership with the admin role). An object of another tenant answers exactly like a missing
one: it is not in `get_queryset`, so Django admin's change, delete and history views redirect with "doesn't
exist", and the forms offer no other tenant (nor its memberships or users) to pick.

The scoping lives here, at the bottom of the core, because every core app's admin uses it: an import of
cleanroom.access (which sits above tenants, policies and routing) from them would be an import circle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from cleanroom import rls
from cleanroom.tenants.models import ApiToken, Membership, Role, Tenant

_SCOPE_ATTRIBUTE = "_cleanroom_admin_tenant_ids"


def administered_tenant_ids(request: HttpRequest) -> list[int] | None:
    """The ids of the tenants the request's user administers; None: every tenant (a platform operator)."""
    user = request.user
    if user.is_active and user.is_superuser:
        return None
    if not hasattr(request, _SCOPE_ATTRIBUTE):
        ids: list[int] = []
        if user.is_authenticated and user.is_active and user.is_staff:
            ids = list(Membership.objects.filter(user_id=user.pk, role=Role.ADMIN).values_list("tenant_id", flat=True))
        setattr(request, _SCOPE_ATTRIBUTE, ids)
    return getattr(request, _SCOPE_ATTRIBUTE)


class AdminScopeMiddleware:
    """Django admin reads through row-level security too (cleanroom/rls.py): staff see the rows of the tenants
    they administer, a platform operator every tenant's. RegionScopeMiddleware, outside this one, resets it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(reverse("admin:index")) and request.user.is_authenticated:
            ids = administered_tenant_ids(request)
            rls.scope_set(rls.SYSTEM if ids is None else rls.tenants_scope_value(ids))
        return self.get_response(request)


def scoped_choices(db_field: models.ForeignKey, tenant_ids: list[int]) -> QuerySet | None:
    """The rows a form may name through `db_field` for a user administering `tenant_ids` (None: not tenant data)."""
    related = db_field.related_model
    if related is Tenant:
        return Tenant.objects.filter(pk__in=tenant_ids)
    if related is Membership:
        return Membership.objects.filter(tenant_id__in=tenant_ids)
    if related is get_user_model():
        # Colleagues only: never the list of every account of the deployment.
        return related._default_manager.filter(memberships__tenant_id__in=tenant_ids).distinct()
    return None


def object_tenant_id(obj: models.Model, lookup: str) -> int | None:
    """Follow `lookup` ("tenant", "membership__tenant", "pk") on an instance, without a query where avoidable."""
    if lookup == "pk":
        return obj.pk
    *path, last = lookup.split("__")
    target: Any = obj
    for part in path:
        target = getattr(target, part, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


class _TenantScope:
    """What ModelAdmin and InlineModelAdmin share: the scoped queryset and the limited foreign-key choices."""

    tenant_lookup: str = "tenant"  # from a row to its tenant; "pk" for the Tenant admin itself

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        tenant_ids = administered_tenant_ids(request)
        if tenant_ids is None:
            return queryset
        return queryset.filter(**{f"{self.tenant_lookup}__in": tenant_ids})

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        tenant_ids = administered_tenant_ids(request)
        if tenant_ids is not None and "queryset" not in kwargs:
            choices = scoped_choices(db_field, tenant_ids)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def _in_scope(self, request: HttpRequest, obj: models.Model | None, lookup: str) -> bool:
        tenant_ids = administered_tenant_ids(request)
        if obj is None or tenant_ids is None:
            return True
        return object_tenant_id(obj, lookup) in tenant_ids


class TenantScopedAdmin(_TenantScope):
    """Mix in before admin.ModelAdmin: `class DocumentAdmin(TenantScopedAdmin, admin.ModelAdmin)`."""

    superuser_only_add: bool = False  # the Tenant admin: only an operator creates tenants

    def has_add_permission(self, request: HttpRequest) -> bool:
        tenant_ids = administered_tenant_ids(request)
        if tenant_ids is not None and (self.superuser_only_add or not tenant_ids):
            return False
        return super().has_add_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._in_scope(request, obj, self.tenant_lookup) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._in_scope(request, obj, self.tenant_lookup) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._in_scope(request, obj, self.tenant_lookup) and super().has_delete_permission(request, obj)  # type: ignore[misc]

    def get_list_filter(self, request: HttpRequest) -> Any:
        # A plain related-field filter lists every tenant of the deployment; list only those of the visible rows.
        filters = super().get_list_filter(request)  # type: ignore[misc]
        if administered_tenant_ids(request) is None:
            return filters
        return [
            (item, admin.RelatedOnlyFieldListFilter)
            if isinstance(item, str) and (item == "tenant" or item.endswith("__tenant"))
            else item
            for item in filters
        ]


class TenantScopedInline(_TenantScope):
    """Mix in before an inline: its rows follow the parent's tenant, and its permissions the parent's scope."""

    parent_tenant_lookup: str = "tenant"  # from the parent object to its tenant

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._in_scope(request, obj, self.parent_tenant_lookup) and super().has_add_permission(request, obj)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._in_scope(request, obj, self.parent_tenant_lookup) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._in_scope(request, obj, self.parent_tenant_lookup) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._in_scope(request, obj, self.parent_tenant_lookup) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class MembershipInline(TenantScopedInline, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    parent_tenant_lookup = "pk"  # the parent is the tenant itself

    def get_autocomplete_fields(self, request):  # noqa: ANN001, ANN201
        # The user autocomplete searches every account (and needs auth's view permission): operators only. A tenant
        # administrator gets a plain select of the users already in a tenant they administer.
        return self.autocomplete_fields if administered_tenant_ids(request) is None else []


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin, admin.ModelAdmin):
    list_display = ["slug", "name", "home_region", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    tenant_lookup = "pk"
    superuser_only_add = True  # only a platform operator creates tenants


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin, admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]

    def get_autocomplete_fields(self, request):  # noqa: ANN001, ANN201
        # As MembershipInline: plain selects, limited to the administered tenants and their users, for non-operators.
        return self.autocomplete_fields if administered_tenant_ids(request) is None else []


@admin.register(ApiToken)
class ApiTokenAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """Tokens are created by `bootstrap_tenant` or the API; admin can only inspect and revoke them."""

    list_display = [
        "key_prefix",
        "name",
        "membership",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["membership__tenant"]
    readonly_fields = ["membership", "key_prefix", "key_hash", "created_at", "last_used_at"]
    # An expiry can be brought forward or set here, scopes narrowed; revoking is setting revoked_at.
    fields = [
        "membership",
        "name",
        "key_prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    tenant_lookup = "membership__tenant"

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False
