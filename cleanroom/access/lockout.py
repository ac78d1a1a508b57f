"""Login lockout with django-axes, without personal data: axes counts failures in the shared cache under a keyed
hash of the username (never the name itself), logs a hash instead of the name and address, and a lockout is
audited once, with no username or address, only the user id when the name is a user's."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from cleanroom.audit.services import audit_record


def _keyed(value: str) -> str:
    return hmac.new(str(settings.SECRET_KEY).encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _typed_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    if credentials and credentials.get("username"):
        return str(credentials["username"])
    if request is not None and request.method == "POST":
        return request.POST.get("username") or None
    return None


def hashed_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: what axes keys, logs and signals instead of the username."""
    username = _typed_username(request, credentials)
    return None if username is None else "h:" + _keyed(username)


def client_str(username: str | None, ip_address: str | None, user_agent: str, path_info: str, request: Any) -> str:
    """AXES_CLIENT_STR_CALLABLE: how a client appears in axes's log lines (one hash, not the name or address)."""
    return f"client {_keyed(f'{username}|{ip_address}')[:12]} on {path_info}"


def retry_after_seconds() -> int:
    return settings.LOGIN_COOLOFF_MINUTES * 60


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After; the login page again for people, the error shape for clients
    that ask for JSON."""
    minutes = settings.LOGIN_COOLOFF_MINUTES
    message = f"Too many failed logins. Try again in {minutes} minutes, or ask an administrator."
    response: HttpResponse
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"error": {"code": "locked_out", "message": message}}, status=429)
    else:
        form = AuthenticationForm(request)
        form.errors["__all__"] = form.error_class([message])
        response = render(request, "registration/login.html", {"form": form, "next": ""}, status=429)
    response["Retry-After"] = str(retry_after_seconds())
    return response


@receiver(user_locked_out)
def _audit_lockout(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    # Axes signals every refused attempt of a locked-out client; the trail gets one entry per lockout.
    if not cache.add(f"lockout-audited:{_keyed(f'{username}|{ip_address}')}", 1, timeout=retry_after_seconds()):
        return
    typed = _typed_username(request, getattr(request, "axes_credentials", None))
    user_id = get_user_model().objects.filter(username=typed).values_list("pk", flat=True).first() if typed else None
    audit_record(
        tenant=None,
        actor=None,
        action="auth.locked_out",
        details={
            "user_id": user_id,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_seconds": retry_after_seconds(),
            "path": request.path,
        },
    )
