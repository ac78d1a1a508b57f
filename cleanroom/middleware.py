"""A dependency that is down (the database, the broker, the answer model) answers HTTP 503 with the one error
shape, `{"error": {"code": "database_unavailable", "message": ...}}`, and a Retry-After, instead of Django's HTML
500 page. Connections give up within seconds (DB_CONNECT_TIMEOUT, CELERY_BROKER_CONNECTION_TIMEOUT), so the answer
comes quickly too."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cleanroom.errors import ServiceError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGES = {
    "database_unavailable": "The database is unavailable; try again in a moment.",
    "broker_unavailable": "The task queue is unavailable; try again in a moment.",
}


def unavailable(exc: BaseException | None) -> tuple[str, str] | None:
    """(code, message) when `exc` says a dependency is down, else None."""
    if isinstance(exc, OperationalError | InterfaceError):
        return "database_unavailable", MESSAGES["database_unavailable"]
    if isinstance(exc, BrokerOperationalError | RedisConnectionError | RedisTimeoutError):
        return "broker_unavailable", MESSAGES["broker_unavailable"]
    if isinstance(exc, ServiceError) and exc.status_code == 503:  # the answer model, raised outside the API views
        return exc.code, exc.message
    return None


def unavailable_response(code: str, message: str) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DependencyUnavailableMiddleware:
    """Outermost middleware. A view's exception (the API views re-raise what their handler does not know) becomes a
    503 in process_exception; one raised elsewhere (another middleware, a session saved after the view) has been
    turned into a 500 by the time it gets here, so the signal below marks the request and the 500 is replaced."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        marked: tuple[str, str] | None = getattr(request, "_dependency_unavailable", None)
        if marked is not None and response.status_code == 500:
            return unavailable_response(*marked)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        found = unavailable(exception)
        if found is None:
            return None
        logger.warning("%s %s: %s (%s)", request.method, request.path, found[0], type(exception).__name__)
        return unavailable_response(*found)


def _mark_request(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    # Sent while the exception is being handled, so sys.exc_info() is the one that made the 500.
    found = unavailable(sys.exc_info()[1])
    if request is not None and found is not None:
        logger.warning("%s %s: %s (%s)", request.method, request.path, found[0], type(sys.exc_info()[1]).__name__)
        request._dependency_unavailable = found  # type: ignore[attr-defined]


got_request_exception.connect(_mark_request, dispatch_uid="cleanroom.middleware.mark_request")
