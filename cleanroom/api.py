"""API plumbing shared by every endpoint: one error shape, `{"error": {"code", "message", "fields"?}}`."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cleanroom.errors import ServiceError

NOT_FOUND = {"error": {"code": "not_found", "message": "No such object."}}


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


def paginated(serializer_class: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The schema of a Pagination page of `serializer_class` (APIViews paginate by hand, so drf-spectacular would
    otherwise document the page as a bare array)."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


def error_response(code: str, message: str, status_code: int, fields: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=status_code)


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key == "non_field_errors" else f"{key}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        if exc.status_code == status.HTTP_404_NOT_FOUND:
            return Response(NOT_FOUND, status=404)
        return error_response(exc.code, exc.message, exc.status_code)
    if isinstance(exc, Http404 | exceptions.NotFound):
        # "Not yours" and "does not exist" must be indistinguishable.
        return Response(NOT_FOUND, status=404)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return error_response(
            "invalid_input",
            _first_message(exc.detail),
            response.status_code,
            fields=exc.detail if isinstance(exc.detail, dict) else None,
        )
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = {"error": {"code": code, "message": _first_message(exc.detail)}}
    return response
