from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cleanroom.tenants.selectors import api_token_authenticate
from retrieval.mcp_server import build_server

TOKEN_VARIABLE = "CLEANROOM_API_TOKEN"


class Command(BaseCommand):
    help = (
        "Serve the tenant's search, ask, list_documents and get_document as MCP tools over stdio, for agents. "
        f"Authenticated by the API token in ${TOKEN_VARIABLE} (an environment variable, never an argument: "
        "arguments are visible to every user of the machine), scoped to its tenant like the REST API."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        key = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not key:
            raise CommandError(f"Set {TOKEN_VARIABLE} to an API token (python manage.py bootstrap_tenant prints one).")
        if api_token_authenticate(key=key) is None:
            raise CommandError("The API token is invalid, expired or has been revoked.")
        # stdout carries the protocol from here on: anything else goes to stderr (Django's logging does).
        build_server(key=key).run("stdio")
