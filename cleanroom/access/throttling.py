"""API rate limits (DRF throttles over the shared cache): per API token, else per signed-in user. A refusal is a 429
with Retry-After (DRF sets it from `wait()`) and is audited once per client and window, with the token's prefix and
the user id, never a name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from cleanroom.audit.services import audit_record
from cleanroom.tenants.models import ApiToken

if TYPE_CHECKING:
    from rest_framework.views import APIView


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api"
    setting = "API_RATE"

    def get_rate(self) -> str | None:
        # Read per request (DRF reads its rates once, at import): settings and tests can change them.
        rate = getattr(settings, self.setting).strip()
        return None if rate.lower() in ("", "off", "0") else rate

    def applies(self, request: Request, view: APIView) -> bool:
        return True

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not self.applies(request, view):
            return None
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None  # anonymous requests are refused before throttling, except the public schema
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if super().allow_request(request, view):
            return True
        # The first refusal of a window is audited; the rest of the window only counts.
        if self.cache.add(f"{self.key}:audited", 1, timeout=max(1, int(self.wait() or 1))):
            token = request.auth if isinstance(request.auth, ApiToken) else None
            audit_record(
                tenant=getattr(request, "tenant", None),
                actor=request.user,
                action="api.throttled",
                details={
                    "limit": self.scope,
                    "rate": self.rate,
                    "key_prefix": token.key_prefix if token else None,
                    "method": request.method,
                    "path": request.path,
                },
            )
        return False


class AnswerRateThrottle(TokenRateThrottle):
    """Answers from the model: the methods a view lists in `answer_methods`."""

    scope = "answers"
    setting = "ANSWER_RATE"

    def applies(self, request: Request, view: APIView) -> bool:
        return request.method in getattr(view, "answer_methods", ())
