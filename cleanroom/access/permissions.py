from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from cleanroom.access.resolution import request_membership
from cleanroom.tenants.models import ApiToken, Role, Scope

if TYPE_CHECKING:  # rest_framework.views imports the permission classes named in settings
    from rest_framework.views import APIView


def required_scopes(request: Request, view: APIView, default: str | None) -> tuple[str, ...]:
    """The token scopes of which one lets `request` through `view`: the view's `token_scopes` for the method
    (a scope or a tuple of alternatives), else the permission's own, else read for safe methods, upload for others."""
    named = getattr(view, "token_scopes", {}).get(request.method)
    if named is not None:
        return (named,) if isinstance(named, str) else tuple(named)
    if default is not None:
        return (default,)
    return (Scope.READ,) if request.method in permissions.SAFE_METHODS else (Scope.UPLOAD,)


class IsTenantMember(permissions.BasePermission):
    message = "You are not a member of any tenant."
    minimum_role = Role.VIEWER
    scope: str | None = None

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.user is None or not request.user.is_authenticated:
            return False
        membership = request_membership(request)
        if membership is None or not membership.has_role(self.minimum_role):
            return False
        token = request.auth
        if isinstance(token, ApiToken):  # a signed-in web session is limited by its role alone
            needed = required_scopes(request, view, self.scope)
            if not set(needed) & set(token.scopes):
                raise exceptions.PermissionDenied(
                    f"This API token lacks the scope this needs ({' or '.join(needed)}).", code="insufficient_scope"
                )
        return True


class IsTenantEditor(IsTenantMember):
    message = "Your role in this tenant does not allow changing documents."
    minimum_role = Role.EDITOR


class IsTenantReviewer(IsTenantMember):
    message = "Only the tenant's reviewers and admins may decide on documents held for review."
    minimum_role = Role.REVIEWER
    scope = Scope.REVIEW


class IsTenantAdmin(IsTenantMember):
    message = "Only the tenant's admins may manage its members and API tokens."
    minimum_role = Role.ADMIN
    scope = Scope.ADMIN
