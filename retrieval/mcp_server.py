"""The tenant's documents as MCP tools for agents: `search`, `ask`, `list_documents` and `get_document`.

Built on the official `mcp` SDK (MCPServer) and served over stdio by `manage.py mcp`. It is authenticated by an API
token, exactly like the REST API: the token names the tenant and the user, every call is scoped to that tenant (and
its region store), and the token is checked again on every call, so a revoked or expired one stops working in the
middle of a session. Tools return what the REST endpoints return: redacted text only, audited by the same services.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from cleanroom.errors import ServiceError
from cleanroom.routing import tenant_scope
from cleanroom.tenants.models import Membership, Role, Scope
from cleanroom.tenants.selectors import api_token_authenticate
from ingestion.selectors import chunk_list, document_get, document_list
from retrieval.search import passage_search
from retrieval.selectors import SEARCH_MODES
from retrieval.services import question_answer

MAX_SEARCH_TOP_K = 100
MAX_LIST = 200
DOCUMENT_TEXT_CHARS = 50_000  # of redacted text per get_document call; `offset` pages through the rest

INSTRUCTIONS = (
    "Tools over one tenant's documents in a data clean room. Personal data was removed before indexing: names and "
    "identifiers appear as placeholders such as <PERSON>. `ask` answers from the documents with [n] citations, or "
    "says that the documents do not answer; `search` returns ranked passages; `list_documents` and `get_document` "
    "browse the documents and their redacted text."
)


def token_membership(key: str, scope: str) -> Membership:
    """The membership behind an API token, checked now (unknown, revoked, expired or deactivated: refused), which
    must hold `scope` as the REST API would ask for it."""
    token = api_token_authenticate(key=key)
    if token is None or not token.membership.has_role(Role.VIEWER):
        raise ToolError("The API token is invalid, expired or has been revoked.")
    if scope not in token.scopes:
        raise ToolError(f"This API token lacks the scope this tool needs ({scope}).")
    return token.membership


def _document_row(document: Any) -> dict[str, Any]:
    return {
        "id": str(document.pk),
        "title": document.title,
        "filename": document.filename,
        "media_type": document.media_type,
        "status": document.status,
        "chunk_count": document.chunk_count,
        "redaction_counts": document.redaction_counts,
        "created_at": document.created_at.isoformat(),
    }


def build_server(*, key: str) -> MCPServer:
    """An MCP server whose tools act as the holder of the API token `key`."""
    server: MCPServer = MCPServer(name="cleanroom", instructions=INSTRUCTIONS)

    def run(work: Any, scope: str = Scope.READ) -> Any:
        # The SDK runs a plain function in a worker thread: fresh connections there, the tenant's store entered.
        close_old_connections()
        membership = token_membership(key, scope)
        try:
            with tenant_scope(membership.tenant):
                return work(membership)
        except ServiceError as exc:
            raise ToolError(exc.message) from exc

    @server.tool(description="Ranked passages of the tenant's documents for a query, without an answer.")
    def search(query: str, top_k: int = 10, mode: str = "hybrid") -> dict[str, Any]:
        if not query.strip() or len(query) > 4000:
            raise ToolError("query must have 1 to 4000 characters.")
        if not 1 <= top_k <= MAX_SEARCH_TOP_K:
            raise ToolError(f"top_k must be between 1 and {MAX_SEARCH_TOP_K}.")
        if mode not in SEARCH_MODES:
            raise ToolError(f"mode must be one of {', '.join(SEARCH_MODES)}.")

        def work(m: Membership) -> dict[str, Any]:
            hits = passage_search(tenant=m.tenant, user=m.user, query=query, top_k=top_k, mode=mode)  # type: ignore[arg-type]
            return {"results": [asdict(hit) for hit in hits]}

        return run(work)

    @server.tool(
        description="Answer a question from the tenant's documents, with [n] citations; abstains (abstained: true) "
        "when the documents do not answer it. Ask a question that stands on its own."
    )
    def ask(question: str, top_k: int = 5) -> dict[str, Any]:
        if not question.strip() or len(question) > 4000:
            raise ToolError("question must have 1 to 4000 characters.")
        if not 1 <= top_k <= settings.MAX_TOP_K:
            raise ToolError(f"top_k must be between 1 and {settings.MAX_TOP_K}.")

        def work(m: Membership) -> dict[str, Any]:
            answer = question_answer(tenant=m.tenant, user=m.user, question=question, top_k=top_k)
            return {
                "answer": answer.answer,
                "citations": [asdict(c) for c in answer.citations],
                "abstained": answer.abstained,
                "model": answer.model,
            }

        return run(work, Scope.QUERY)

    @server.tool(description="The tenant's documents, newest first: id, title, status, chunk count.")
    def list_documents(status: str = "", limit: int = 50, offset: int = 0) -> dict[str, Any]:
        if not 1 <= limit <= MAX_LIST or offset < 0:
            raise ToolError(f"limit must be between 1 and {MAX_LIST}, offset at least 0.")

        def work(m: Membership) -> dict[str, Any]:
            documents = document_list(tenant=m.tenant, status=status or None)
            return {
                "count": documents.count(),
                "documents": [_document_row(d) for d in documents[offset : offset + limit]],
            }

        return run(work)

    @server.tool(
        description="One document of the tenant: its details and its redacted text in chunks (up to "
        f"{DOCUMENT_TEXT_CHARS} characters a call, from chunk number `offset`; `next_offset` continues)."
    )
    def get_document(document_id: str, include_text: bool = True, offset: int = 0) -> dict[str, Any]:
        def work(m: Membership) -> dict[str, Any]:
            document = document_get(tenant=m.tenant, document_id=document_id)
            if document is None:  # another tenant's document answers exactly like a missing one
                raise ToolError("No such document.")
            body = _document_row(document)
            if include_text:
                chunks: list[dict[str, Any]] = []
                used = skipped = 0
                for chunk in chunk_list(tenant=m.tenant, document=document):
                    if skipped < offset:
                        skipped += 1
                        continue
                    if used + len(chunk.text) > DOCUMENT_TEXT_CHARS and chunks:
                        break
                    chunks.append(
                        {"id": chunk.pk, "ordinal": chunk.ordinal, "section": chunk.section, "text": chunk.text}
                    )
                    used += len(chunk.text)
                body["chunks"] = chunks
                body["next_offset"] = offset + len(chunks) if offset + len(chunks) < document.chunk_count else None
            return body

        return run(work)

    return server
