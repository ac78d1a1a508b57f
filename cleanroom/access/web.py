"""The server-rendered UI's guard: a signed-in member of a tenant, with at least a role (the tenant itself comes
from the one resolution the API uses too: cleanroom/access/resolution.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cleanroom.access.resolution import request_membership
from cleanroom.tenants.models import Role

View = Callable[..., HttpResponse]


def tenant_view(minimum_role: str = Role.VIEWER) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = request_membership(request)
            if membership is None:
                return render(request, "no_tenant.html", status=403)
            if not membership.has_role(minimum_role):
                return render(request, "forbidden.html", {"needed": Role(minimum_role).label}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
