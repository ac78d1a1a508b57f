"""The one tenant resolution, for the API (cleanroom/access/permissions.py) and the web UI (web.py) alike: a
request's tenant is its API token's, or else the one chosen in its web session (else the user's first)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

from cleanroom.routing import region_enter
from cleanroom.tenants.models import ApiToken, Membership, Tenant
from cleanroom.tenants.selectors import membership_for

SESSION_TENANT_KEY = "cleanroom_tenant_id"


def request_membership(request: HttpRequest | Request) -> Membership | None:
    """Pin `request.membership` and `request.tenant` once per request and enter the tenant's region store (its
    documents and chunks live there). None: the request belongs to no tenant."""
    if hasattr(request, "membership"):
        return request.membership
    membership = None
    auth = getattr(request, "auth", None)  # DRF's Request only: the token that authenticated it
    if isinstance(auth, ApiToken):
        membership = auth.membership
    elif request.user is not None and request.user.is_authenticated:
        membership = membership_for(user=request.user, tenant_id=request.session.get(SESSION_TENANT_KEY))
    request.membership = membership  # type: ignore[attr-defined]  # pinned on the request, as Django does .user
    request.tenant = membership.tenant if membership is not None else None  # type: ignore[attr-defined]
    if membership is not None:
        region_enter(membership.tenant)
    return membership


def pinned_membership(request: HttpRequest | Request) -> Membership:
    """The membership of a request that passed the tenant permission or the web guard (which resolved it)."""
    membership = request_membership(request)
    if membership is None:
        raise PermissionDenied("You are not a member of any tenant.")
    return membership


def request_tenant(request: HttpRequest | Request) -> Tenant:
    return pinned_membership(request).tenant


def request_token_scopes(request: HttpRequest | Request) -> list[str] | None:
    """The scopes of the API token that authenticated `request`; None for a signed-in web session."""
    auth = getattr(request, "auth", None)
    return list(auth.scopes) if isinstance(auth, ApiToken) else None


def request_actor(request: HttpRequest | Request) -> User | None:
    """The signed-in user, for services and the audit trail (None: nobody is signed in)."""
    user = request.user
    return user if isinstance(user, AbstractBaseUser) and user.is_authenticated else None
