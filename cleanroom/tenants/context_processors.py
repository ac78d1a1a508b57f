from __future__ import annotations

from django.http import HttpRequest

from cleanroom.tenants.selectors import membership_list


def current_tenant(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_tenant": getattr(request, "tenant", None),
        "memberships": list(membership_list(user=user)),
    }
