from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions
from rest_framework.request import Request

from cleanroom.routing import region_enter
from cleanroom.tenants.models import ApiToken, Role
from cleanroom.tenants.selectors import membership_for

if TYPE_CHECKING:  # rest_framework.views imports the permission classes named in settings
    from rest_framework.views import APIView

SESSION_TENANT_KEY = "cleanroom_tenant_id"


def resolve_membership(request: Request) -> None:
    """Pin `request.membership` and `request.tenant` once per request: from the API token when there is one,
    otherwise from the tenant chosen in the web session."""
    if hasattr(request, "tenant"):
        return
    membership = None
    if isinstance(request.auth, ApiToken):
        membership = request.auth.membership
    elif request.user is not None and request.user.is_authenticated:
        membership = membership_for(user=request.user, tenant_id=request.session.get(SESSION_TENANT_KEY))
    request.membership = membership
    request.tenant = membership.tenant if membership is not None else None
    if request.tenant is not None:
        region_enter(request.tenant)  # this request's documents and chunks live in the tenant's region store


class IsTenantMember(permissions.BasePermission):
    message = "You are not a member of any tenant."
    minimum_role = Role.VIEWER

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.user is None or not request.user.is_authenticated:
            return False
        resolve_membership(request)
        return request.membership is not None and request.membership.has_role(self.minimum_role)


class IsTenantEditor(IsTenantMember):
    message = "Your role in this tenant does not allow changing documents."
    minimum_role = Role.EDITOR
