"""`get_new_connection` tries again for up to DB_CONNECT_RETRY_SECONDS while PostgreSQL refuses connections, as it
does while it restarts ("the database system is shutting down / starting up", a missing socket, a refused port).
Queries on a connection the restart already killed still fail: Django's health check replaces such a connection at
the start of the next request (CONN_HEALTH_CHECKS), and the middleware answers that one request with a JSON 503."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base

RETRY_INTERVAL = 0.2
# Not a restart: retrying these only makes a wrong setting slower to report.
_PERMANENT = ("password authentication failed", "does not exist", "no pg_hba.conf entry", "role ")


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:  # noqa: ANN401 - psycopg's Connection
        deadline = time.monotonic() + settings.DB_CONNECT_RETRY_SECONDS
        while True:
            started = time.monotonic()
            try:
                return super().get_new_connection(conn_params)
            except psycopg.OperationalError as exc:
                # A connect that itself took long (a silent server: connect_timeout) is not retried either.
                slow = time.monotonic() - started > 1.0
                if slow or time.monotonic() + RETRY_INTERVAL > deadline or any(p in str(exc) for p in _PERMANENT):
                    raise
            time.sleep(RETRY_INTERVAL)
