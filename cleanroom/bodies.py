"""Request bodies the database cannot store or the parser cannot survive answer a 400, not a 500: PostgreSQL refuses
NUL in text, and json recursion on 100,000 nested brackets raises RecursionError deep in the stack."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import IO, Any
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from rest_framework import exceptions
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

MAX_JSON_DEPTH = 64


def _too_deep(raw: bytes, limit: int) -> bool:
    """True when brackets nest deeper than `limit`; counted on the bytes, before json recurses (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def fields_have_nul(fields: QueryDict) -> bool:
    """Any value of any form field (every value of a repeated one) holds a NUL."""
    return any("\x00" in value for _, values in fields.lists() for value in values)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class SafeJSONParser(JSONParser):
    """JSON with a nesting limit checked before parsing, and no NUL character anywhere in the parsed value."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # Read one byte past the limit: a body without Content-Length is bounded too.
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(_too_large_message())
        if _too_deep(raw, MAX_JSON_DEPTH):
            raise ValidationError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels.")
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        if _has_nul(data):
            raise ValidationError("Text must not contain NUL characters.")
        return data


# --- Every request: sizes and NUL bytes outside JSON ----------------------------------------------------------------

API_PREFIXES = ("/api/", "/v1/")


def body_error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """The one error shape on API paths; a short plain page for the web UI (its forms show their own errors)."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _too_large_message() -> str:
    return (
        f"The request body is too large: forms and JSON may hold {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1048576} MB,"
        f" uploaded files {settings.MAX_UPLOAD_BYTES // 1048576} MB."
    )


class RequestBodyMiddleware:
    """Refuses, before any view or other middleware reads it, a body larger than the limits (413
    `payload_too_large`) and NUL characters in the query string or in a web form's fields (400 `invalid_input`);
    Django would answer the first with an HTML 400 and the second with a 500 from PostgreSQL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return body_error(request, 400, "invalid_input", "The Content-Length header is not a number.")
        multipart = request.content_type == "multipart/form-data"
        # A multipart body carries the file plus its form fields and boundaries.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + (settings.MAX_UPLOAD_BYTES if multipart else 0)
        if length > limit:
            return body_error(request, 413, "payload_too_large", _too_large_message())
        if "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            return body_error(request, 400, "invalid_input", "The query string must not contain NUL characters.")
        if request.method == "POST" and not request.path.startswith(API_PREFIXES):
            # Web forms (the API's parsers check their own data): CSRF reads POST next anyway, uploads included.
            try:
                fields = request.POST
            except RequestDataTooBig:
                return body_error(request, 413, "payload_too_large", _too_large_message())
            if fields_have_nul(fields):
                return body_error(request, 400, "invalid_input", "Form fields must not contain NUL characters.")
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A body without Content-Length (chunked) that turns out too large while a view reads it.
        if isinstance(exception, RequestDataTooBig):
            return body_error(request, 413, "payload_too_large", _too_large_message())
        return None


class SafeFormParser(FormParser):
    """Form bodies on the API: no NUL in any field."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if fields_have_nul(data):
            raise ValidationError("Text must not contain NUL characters.")
        return data


class SafeMultiPartParser(MultiPartParser):
    """Multipart bodies on the API (uploads): no NUL in the form fields; files are checked at upload."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        parsed = super().parse(stream, media_type, parser_context)
        if fields_have_nul(parsed.data):
            raise ValidationError("Text must not contain NUL characters.")
        return parsed
