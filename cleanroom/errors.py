"""Errors the services raise for the API and the UI to show: a machine-readable code and a human sentence."""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400

    def __init__(self, code: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class ResidencyViolation(ServiceError):
    """HTTP 451: the tenant's residency rule forbids storing or processing here."""

    status_code = 451
