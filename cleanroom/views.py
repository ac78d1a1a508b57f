from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cleanroom.access.resolution import SESSION_TENANT_KEY
from cleanroom.tenants.selectors import membership_list


@require_POST
def switch_tenant(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    chosen = membership_list(user=request.user).filter(tenant__slug=request.POST.get("tenant", "")).first()
    if chosen is not None:
        request.session[SESSION_TENANT_KEY] = chosen.tenant_id
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target or "/")


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    return JsonResponse({"status": "ok", "pgvector": row[0] if row else None})
