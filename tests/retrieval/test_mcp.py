"""The MCP server (`manage.py mcp`), driven by the official SDK's stdio client in another process: the four tools,
scoped to the token's tenant like the REST API, and refused once the token is revoked."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from mcp import ClientSession, StdioServerParameters, stdio_client

from cleanroom.audit.models import AuditEvent
from cleanroom.tenants.models import ApiToken
from tests.conftest import ingest

ROOT = Path(__file__).resolve().parents[2]
LEAVE = b"Leave policy.\n\nPermanent employees get 24 days of annual leave per year.\n"
OTHER = b"Tenant B plans.\n\nThe secret launch of the blue bicycle is planned for April.\n"
TIMEOUT_S = 300.0  # the server loads Presidio, MiniLM and the model on first use; the machine is shared


def _server_env(key: str) -> dict[str, str]:
    env = {
        **os.environ,
        "CLEANROOM_API_TOKEN": key,
        "CLEANROOM_LLM_MODEL": settings.LLM_MODEL,
        "CLEANROOM_LLM_CONTEXT_TOKENS": str(settings.LLM_CONTEXT_TOKENS),
    }
    if settings.EMBEDDED_POSTGRES:  # the test database, however the suite reaches PostgreSQL
        env["CLEANROOM_DB_NAME"] = connection.settings_dict["NAME"]
    else:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(settings.DATABASE_URL)
        env["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    return env


def _payload(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def _revoke(token_id: int) -> None:
    ApiToken.objects.filter(pk=token_id).update(revoked_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_mcp_tools_over_stdio_are_scoped_to_the_tokens_tenant(alice, charlie):
    mine = ingest(alice, "leave.txt", LEAVE, title="Leave policy")
    theirs = ingest(charlie, "plans.txt", OTHER, title="Bicycle plans")
    token = ApiToken.objects.filter(membership=alice.membership).get()
    params = StdioServerParameters(
        command=sys.executable, args=["manage.py", "mcp"], env=_server_env(alice.key), cwd=ROOT
    )
    seen: dict[str, Any] = {}

    async def session() -> None:
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write, read_timeout_seconds=TIMEOUT_S) as s,
        ):
            await s.initialize()
            seen["tools"] = sorted(tool.name for tool in (await s.list_tools()).tools)
            seen["list"] = _payload(await s.call_tool("list_documents", {}))
            seen["mine"] = _payload(await s.call_tool("get_document", {"document_id": str(mine.pk)}))
            seen["theirs"] = await s.call_tool("get_document", {"document_id": str(theirs.pk)})
            seen["search"] = _payload(await s.call_tool("search", {"query": "annual leave days", "top_k": 5}))
            seen["search_other"] = _payload(await s.call_tool("search", {"query": "blue bicycle launch"}))
            seen["ask"] = _payload(await s.call_tool("ask", {"question": "How many days of annual leave?"}))
            seen["bad"] = await s.call_tool("search", {"query": "x", "mode": "psychic"})
            await anyio.to_thread.run_sync(_revoke, token.pk)
            seen["revoked"] = await s.call_tool("list_documents", {})

    anyio.run(session)

    assert seen["tools"] == ["ask", "get_document", "list_documents", "search"]
    assert seen["list"]["count"] == 1 and [d["id"] for d in seen["list"]["documents"]] == [str(mine.pk)]
    assert seen["mine"]["title"] == "Leave policy" and "24 days" in seen["mine"]["chunks"][0]["text"]
    assert seen["theirs"].is_error and "No such document" in seen["theirs"].content[0].text
    assert seen["search"]["results"] and {r["document_id"] for r in seen["search"]["results"]} == {str(mine.pk)}
    assert all(r["document_id"] != str(theirs.pk) for r in seen["search_other"]["results"])
    ask = seen["ask"]
    assert isinstance(ask["answer"], str) and isinstance(ask["abstained"], bool) and "citations" in ask
    assert all(c["document_id"] == str(mine.pk) for c in ask["citations"])
    assert seen["bad"].is_error
    assert seen["revoked"].is_error and "revoked" in seen["revoked"].content[0].text
    # Audited as the token's user, like the REST API.
    searched = AuditEvent.objects.filter(action="query.searched").order_by("pk").first()
    assert searched is not None and searched.tenant_id == alice.tenant.pk and searched.actor_id == alice.user.pk
    assert AuditEvent.objects.filter(action="query.answered", tenant=alice.tenant).count() == 1


@pytest.mark.django_db
def test_the_mcp_command_needs_a_valid_token(alice, monkeypatch):
    monkeypatch.delenv("CLEANROOM_API_TOKEN", raising=False)
    with pytest.raises(CommandError, match="CLEANROOM_API_TOKEN"):
        call_command("mcp")
    monkeypatch.setenv("CLEANROOM_API_TOKEN", alice.key + "x")
    with pytest.raises(CommandError, match="invalid"):
        call_command("mcp")
