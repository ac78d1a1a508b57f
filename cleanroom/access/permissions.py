from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions
from rest_framework.request import Request

from cleanroom.access.resolution import request_membership
from cleanroom.tenants.models import Role

if TYPE_CHECKING:  # rest_framework.views imports the permission classes named in settings
    from rest_framework.views import APIView


class IsTenantMember(permissions.BasePermission):
    message = "You are not a member of any tenant."
    minimum_role = Role.VIEWER

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.user is None or not request.user.is_authenticated:
            return False
        membership = request_membership(request)
        return membership is not None and membership.has_role(self.minimum_role)


class IsTenantEditor(IsTenantMember):
    message = "Your role in this tenant does not allow changing documents."
    minimum_role = Role.EDITOR


class IsTenantReviewer(IsTenantMember):
    message = "Only the tenant's reviewers and admins may decide on documents held for review."
    minimum_role = Role.REVIEWER


class IsTenantAdmin(IsTenantMember):
    message = "Only the tenant's admins may manage its members and API tokens."
    minimum_role = Role.ADMIN
