"""Tenant resolution for the server-rendered UI (the API does the same in its permission classes)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cleanroom.routing import region_enter
from cleanroom.tenants.models import Role
from cleanroom.tenants.permissions import SESSION_TENANT_KEY
from cleanroom.tenants.selectors import membership_for

View = Callable[..., HttpResponse]


def tenant_view(minimum_role: str = Role.VIEWER) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = membership_for(user=request.user, tenant_id=request.session.get(SESSION_TENANT_KEY))
            if membership is None:
                return render(request, "no_tenant.html", status=403)
            request.membership = membership
            request.tenant = membership.tenant
            region_enter(membership.tenant)  # this request's documents and chunks live in its region store
            if not membership.has_role(minimum_role):
                return render(request, "forbidden.html", {"needed": Role(minimum_role).label}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
