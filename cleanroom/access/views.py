"""Tenant self-service in the web UI: one page, /tenant/, where a tenant's admins manage its members and API tokens.
The forms post to small views that redirect back; the audited operations are the API's (cleanroom/access/api.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cleanroom.access.api import member_add, member_remove, member_role_set, token_create, token_revoke
from cleanroom.access.resolution import pinned_membership, request_actor, request_tenant
from cleanroom.access.web import tenant_view
from cleanroom.errors import ServiceError
from cleanroom.tenants.models import ApiToken, Membership, Role, Scope
from cleanroom.tenants.selectors import tenant_member_get, tenant_member_list, tenant_token_get, tenant_token_list
from cleanroom.tenants.services import TOKEN_MAX_EXPIRY_DAYS


def _render_page(request: HttpRequest, extra: dict[str, Any] | None = None) -> HttpResponse:
    tenant = request_tenant(request)
    context = {
        "members": tenant_member_list(tenant=tenant),
        "tokens": tenant_token_list(tenant=tenant)[:200],
        "roles": Role.choices,
        "scopes": Scope.choices,
        "me": pinned_membership(request),
        "max_expiry_days": TOKEN_MAX_EXPIRY_DAYS,
        **(extra or {}),
    }
    return render(request, "tenant/manage.html", context)


def _member_or_404(request: HttpRequest, member_id: str) -> Membership:
    membership = tenant_member_get(tenant=request_tenant(request), membership_id=member_id)
    if membership is None:
        raise Http404("No such member.")
    return membership


def _token_or_404(request: HttpRequest, token_id: str) -> ApiToken:
    token = tenant_token_get(tenant=request_tenant(request), token_id=token_id)
    if token is None:
        raise Http404("No such token.")
    return token


@require_GET
@tenant_view(Role.ADMIN)
def tenant_page(request: HttpRequest) -> HttpResponse:
    return _render_page(request)


@require_POST
@tenant_view(Role.ADMIN)
def member_add_view(request: HttpRequest) -> HttpResponse:
    username = request.POST.get("username", "").strip()
    if not username:
        messages.error(request, "Enter the username of an existing user.")
        return redirect("web:tenant")
    try:
        membership = member_add(
            tenant=request_tenant(request),
            actor=request_actor(request),
            username=username,
            role=request.POST.get("role", Role.VIEWER),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{membership.user.get_username()} is now a member ({membership.get_role_display()})."
        )
    return redirect("web:tenant")


@require_POST
@tenant_view(Role.ADMIN)
def member_role_view(request: HttpRequest, member_id: str) -> HttpResponse:
    membership = _member_or_404(request, member_id)
    try:
        member_role_set(
            tenant=request_tenant(request),
            actor=request_actor(request),
            membership=membership,
            role=request.POST.get("role", ""),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.get_username()} is now {membership.get_role_display()}.")
    return redirect("web:tenant")


@require_POST
@tenant_view(Role.ADMIN)
def member_remove_view(request: HttpRequest, member_id: str) -> HttpResponse:
    membership = _member_or_404(request, member_id)
    username = membership.user.get_username()
    try:
        member_remove(tenant=request_tenant(request), actor=request_actor(request), membership=membership)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{username} is no longer a member; their API tokens for this tenant are gone.")
    return redirect("web:tenant")


@require_POST
@tenant_view(Role.ADMIN)
def token_create_view(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()[:100] or "api"
    days_text = request.POST.get("expires_in_days", "").strip()
    if days_text and not days_text.isdigit():
        messages.error(request, "Expiry must be a whole number of days, or empty for none.")
        return redirect("web:tenant")
    try:
        token, key = token_create(
            tenant=request_tenant(request),
            actor=request_actor(request),
            membership=pinned_membership(request),
            name=name,
            expires_in_days=int(days_text) if days_text else None,
            scopes=request.POST.getlist("scopes") or None,
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("web:tenant")
    # Rendered, not redirected: the key is in this one response and stored nowhere (not even in the session).
    response = _render_page(request, {"new_token": token, "new_key": key})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenant_view(Role.ADMIN)
def token_revoke_view(request: HttpRequest, token_id: str) -> HttpResponse:
    token = _token_or_404(request, token_id)
    token_revoke(tenant=request_tenant(request), actor=request_actor(request), token=token)
    messages.success(request, f"Token {token.key_prefix}… ({token.name}) is revoked.")
    return redirect("web:tenant")
