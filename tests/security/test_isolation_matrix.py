"""The isolation matrix: every URL the resolver knows, exercised by two tenants' users of every role.

ROUTES lists every route (by `namespace:name`, or its full pattern when unnamed) with how to call it: methods, the
minimum role, and which of tenant A's objects its path (or form) addresses. The Django admin is covered generically,
from `admin.site._registry`. A route added to the URLconf and not to ROUTES fails
`test_the_resolver_and_the_table_list_the_same_routes`, so the matrix cannot silently go stale.

Then, for every call of the table: roles below the minimum are refused (API: 403 in the error shape; web: 403, or
the redirect the documents page uses), roles at or above it are not; anonymous requests get 401/403 or a redirect to
the login page; tenant B's users addressing tenant A's objects get exactly the answer of a missing object, and change
nothing. The OpenAI endpoints, the admin and the MCP tools are checked for the same isolation."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections, models
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from cleanroom.access.admin import TenantScopedAdmin
from cleanroom.access.resolution import SESSION_TENANT_KEY
from cleanroom.api import NOT_FOUND
from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES
from cleanroom.policies.models import (
    AllowTerm,
    CustomRecognizer,
    DenyTerm,
    EntityRule,
    PiiAction,
    ResidencyRule,
    UncertainAction,
)
from cleanroom.tenants.models import ROLE_RANK, ApiToken, Membership, Role
from cleanroom.tenants.services import tenant_bootstrap
from cleanroom.vault.models import ErasureReceipt
from ingestion.models import Chunk, Document, ReviewItem
from retrieval.conversations import conversation_create
from retrieval.feedback import feedback_give
from retrieval.mcp_server import build_server
from retrieval.models import AnswerFeedback, Conversation, Message
from retrieval.selectors import SEARCH_MODES
from tests.conftest import Actor, ingest, make_actor

PUBLIC = "public"  # no sign-in needed, and no tenant data in the answer
METRICS = "metrics"  # counts only: a bearer token, a staff session or a loopback client (ingestion/metrics.py)

SECRET = (
    b"Project Nightjar budget.\n\nThe Nightjar programme has a budget of 4.2 million euros for 2026, "
    b"approved by the board in January.\n"
)
# Single given names under a PERSON threshold of 0.7: the second pass finds them and, with HOLD, holds the document.
MEMO = (
    b"Plant maintenance memo\n\nThe boiler inspection was approved by Lakshmi after the audit. "
    b"Tanvi will lead the Surat dyeing unit from April."
)
CANTEEN = b"Canteen hours.\n\nThe canteen opens at 8 and serves lunch until 14. Kavya Iyer runs it.\n"
# What must never reach tenant B: A's marker words (ids are checked separately).
A_MARKERS = ("Nightjar", "4.2 million", "alpha_", "Lakshmi", "Tanvi", "boiler")

# Ids that exist nowhere, of the same shape as the real ones (UUIDs for documents and conversations).
MISSING = {
    "document": "00000000-0000-4000-8000-000000000000",
    "held": "00000000-0000-4000-8000-000000000001",
    "item": "987654321",
    "conversation": "00000000-0000-4000-8000-000000000002",
    "answer": "987654321",
    "member": "987654321",
    "token": "987654321",
}


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # "{document}" etc. stand for the ids of tenant A's objects (or MISSING's)
    role: str  # the minimum Role, or PUBLIC / METRICS
    target: str | None = None  # which object the call addresses: its placeholder is swapped for a missing id
    data: dict[str, Any] | None = None  # the body of a cross-tenant attempt; placeholders in keys and values too
    denied: str = "403"  # how a role below the minimum is refused: "403", or "redirect" (302 with a message)
    multipart: bool = False


@dataclass(frozen=True)
class Route:
    web: bool  # a server-rendered page (session, HTML, login redirect) rather than the JSON API
    calls: tuple[Call, ...]


V, E, R, A = Role.VIEWER, Role.EDITOR, Role.REVIEWER, Role.ADMIN


def api(*calls: Call) -> Route:
    return Route(web=False, calls=calls)


def web(*calls: Call) -> Route:
    return Route(web=True, calls=calls)


ROUTES: dict[str, Route] = {
    "api:documents": api(Call("GET", "/api/v1/documents", V), Call("POST", "/api/v1/documents", E, multipart=True)),
    "api:document": api(
        Call("GET", "/api/v1/documents/{document}", V, "document"),
        Call("DELETE", "/api/v1/documents/{document}", E, "document"),
    ),
    "api:review": api(Call("GET", "/api/v1/review", R)),
    "api:review-document": api(Call("GET", "/api/v1/review/{held}", R, "held")),
    "api:review-decisions": api(
        Call(
            "POST",
            "/api/v1/review/{held}/decisions",
            R,
            "held",
            {"decisions": [{"item": "{item}", "decision": "rejected", "remember": True}]},
        )
    ),
    "api:review-release": api(Call("POST", "/api/v1/review/{held}/release", R, "held")),
    "api:query": api(Call("POST", "/api/v1/query", V)),
    "api:search": api(Call("POST", "/api/v1/search", V)),
    "api:conversations": api(Call("GET", "/api/v1/conversations", V), Call("POST", "/api/v1/conversations", V)),
    "api:conversation": api(
        Call("GET", "/api/v1/conversations/{conversation}", V, "conversation"),
        Call("DELETE", "/api/v1/conversations/{conversation}", V, "conversation"),
    ),
    "api:conversation-messages": api(
        Call(
            "POST",
            "/api/v1/conversations/{conversation}/messages",
            V,
            "conversation",
            {"content": "And what is the Nightjar budget?"},
        )
    ),
    "api:answer-feedback": api(
        Call("POST", "/api/v1/answers/{answer}/feedback", V, "answer", {"rating": "down", "comment": "moved"})
    ),
    "api:tenant-members": api(Call("GET", "/api/v1/tenant/members", A), Call("POST", "/api/v1/tenant/members", A)),
    "api:tenant-member": api(
        Call("GET", "/api/v1/tenant/members/{member}", A, "member"),
        Call("PATCH", "/api/v1/tenant/members/{member}", A, "member", {"role": "admin"}),
        Call("DELETE", "/api/v1/tenant/members/{member}", A, "member"),
    ),
    "api:tenant-tokens": api(Call("GET", "/api/v1/tenant/tokens", A), Call("POST", "/api/v1/tenant/tokens", A)),
    "api:tenant-token": api(
        Call("GET", "/api/v1/tenant/tokens/{token}", A, "token"),
        Call("DELETE", "/api/v1/tenant/tokens/{token}", A, "token"),
    ),
    "api:schema": api(Call("GET", "/api/v1/schema", PUBLIC)),
    "openai:models": api(Call("GET", "/v1/models", V)),
    "openai:chat-completions": api(Call("POST", "/v1/chat/completions", V)),
    "login": web(Call("GET", "/accounts/login/", PUBLIC)),
    "logout": web(Call("POST", "/accounts/logout/", PUBLIC)),
    "health": api(Call("GET", "/healthz", PUBLIC)),
    "metrics": web(Call("GET", "/metrics", METRICS)),
    "web:home": web(Call("GET", "/", PUBLIC)),  # a redirect to the documents page, which needs a sign-in
    "web:documents": web(
        Call("GET", "/documents/", V),
        # The page lets viewers in and refuses their upload with a message and a redirect.
        Call("POST", "/documents/", E, denied="redirect"),
    ),
    "web:documents-status": web(Call("GET", "/documents/status?ids={document}", V, "document")),
    "web:document": web(Call("GET", "/documents/{document}/", V, "document")),
    "web:document-delete": web(Call("POST", "/documents/{document}/delete", E, "document")),
    "web:review": web(Call("GET", "/review/", R)),
    "web:review-document": web(
        Call("GET", "/review/{held}/", R, "held"),
        Call("POST", "/review/{held}/", R, "held", {"item-{item}": "rejected", "remember-{item}": "on"}),
    ),
    "web:review-release": web(Call("POST", "/review/{held}/release", R, "held")),
    "web:ask": web(
        Call("GET", "/ask/?c={conversation}", V, "conversation"),
        Call("POST", "/ask/", V, "conversation", {"question": "What is the budget?", "conversation": "{conversation}"}),
    ),
    "web:ask-feedback": web(Call("POST", "/ask/feedback", V, "answer", {"message": "{answer}", "rating": "down"})),
    "web:ask-delete": web(Call("POST", "/ask/{conversation}/delete", V, "conversation")),
    "web:switch-tenant": web(Call("POST", "/tenant", V, data={"tenant": "tenant-a", "next": "/documents/"})),
    "web:tenant": web(Call("GET", "/tenant/", A)),
    "web:tenant-member-add": web(Call("POST", "/tenant/members/add", A)),
    "web:tenant-member-role": web(Call("POST", "/tenant/members/{member}/role", A, "member", {"role": "admin"})),
    "web:tenant-member-remove": web(Call("POST", "/tenant/members/{member}/remove", A, "member")),
    "web:tenant-token-create": web(Call("POST", "/tenant/tokens/create", A)),
    "web:tenant-token-revoke": web(Call("POST", "/tenant/tokens/{token}/revoke", A, "token")),
}

# The admin site's own views; every registered ModelAdmin adds the per-model group below.
ADMIN_SITE_ROUTES = {
    "admin:index",
    "admin:login",
    "admin:logout",
    "admin:password_change",
    "admin:password_change_done",
    "admin:autocomplete",
    "admin:jsi18n",
    "admin:view_on_site",
    "admin:app_list",
    "admin/(?P<url>.*)$",  # the final catch-all, unnamed
}
ADMIN_MODEL_VIEWS = ("changelist", "add", "history", "delete", "change")
# Extra views a ModelAdmin adds in get_urls(): each listed, with the reason it is safe.
ADMIN_EXTRA_ROUTES = {
    "admin:auth_user_password_change",  # UserAdmin's; auth's admin is closed to tenant administrators (see below)
}
# Registered but not tenant data: a tenant administrator (staff, not superuser) may not open them at all.
UNSCOPED_ADMIN_MODELS = {User, Group}


# --- The resolver -------------------------------------------------------------------------------------------------


def _walk(patterns: list[Any], prefix: str = "", namespace: str | None = None) -> Iterator[tuple[str, str | None]]:
    """(full pattern, namespace:name or None) of every URL pattern, through include()s and the admin's."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace
            joined = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), joined)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name


def resolver_routes() -> list[tuple[str, str]]:
    """(key, full pattern): the key is `namespace:name`, or the pattern for an unnamed route."""
    return [(name or pattern, pattern) for pattern, name in _walk(get_resolver().url_patterns)]


def admin_routes() -> set[str]:
    keys = ADMIN_SITE_ROUTES | ADMIN_EXTRA_ROUTES
    for model in admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        keys |= {f"admin:{app}_{name}_{view}" for view in ADMIN_MODEL_VIEWS}
        keys.add(f"admin/{app}/{name}/<path:object_id>/")  # the unnamed redirect to change/
    return keys


def test_the_resolver_and_the_table_list_the_same_routes() -> None:
    found = resolver_routes()
    keys = [key for key, _ in found]
    assert len(keys) == len(set(keys)), "two routes share a name: the table could not tell them apart"
    listed = set(ROUTES) | admin_routes()
    assert set(keys) - listed == set(), "new routes: add them to ROUTES with their methods and minimum role"
    assert listed - set(keys) == set(), "ROUTES lists routes the URLconf no longer has"


def test_every_call_of_the_table_resolves_to_its_route() -> None:
    for key, route in ROUTES.items():
        for call in route.calls:
            path = call.path.split("?")[0].format(**MISSING)
            assert resolve(path).view_name == key, (key, call.path)


# --- Tenants A and B, with one user of every role and one object of every kind ------------------------------------


CONVERSATION_OWNER = Role.EDITOR  # of tenant A's conversation (and so of its answer and the answer's rating)


@dataclass
class World:
    a: dict[str, Actor]  # role -> a member of tenant A with that role
    b: dict[str, Actor]
    ids: dict[str, str]  # placeholder -> the id of tenant A's object
    b_document: Document


def _roles(slug: str, prefix: str) -> dict[str, Actor]:
    return {role: make_actor(slug, f"{prefix}_{role}", role) for role in Role.values}


@pytest.fixture
def world(db) -> World:
    a, b = _roles("tenant-a", "alpha"), _roles("tenant-b", "bravo")
    owner = a[CONVERSATION_OWNER]
    secret = ingest(owner, "nightjar.txt", SECRET, title="Nightjar budget")
    # After the secret document, so that only the memo is held for review.
    EntityRule.objects.create(tenant=owner.tenant, entity_type="PERSON", threshold=0.7, uncertain=UncertainAction.HOLD)
    held = ingest(owner, "memo.txt", MEMO, title="Boiler memo")
    assert held.status == Document.Status.HELD, held.status
    item = ReviewItem.objects.filter(document=held).order_by("pk").first()
    assert item is not None
    # A conversation with an answer, rated: what the conversation and feedback routes address. Written directly, as
    # tests/retrieval/test_conversations.py does, because which answer the model gives does not matter here.
    conversation = conversation_create(tenant=owner.tenant, user=owner.user, title="Nightjar questions")
    Message.objects.create(conversation=conversation, tenant=owner.tenant, role="user", text="Nightjar budget?")
    answer = Message.objects.create(
        conversation=conversation, tenant=owner.tenant, role="assistant", text="It is 4.2 million euros [1]."
    )
    feedback_give(tenant=owner.tenant, user=owner.user, message=answer, rating="up", comment="Right.")
    b_document = ingest(b[Role.EDITOR], "canteen.txt", CANTEEN, title="Canteen hours")
    AllowTerm.objects.create(tenant=b[Role.EDITOR].tenant, term="bravo allowed term")  # a policy row of B's
    ids = {
        "document": str(secret.pk),
        "held": str(held.pk),
        "item": str(item.pk),
        "conversation": str(conversation.pk),
        "answer": str(answer.pk),
        "member": str(a[Role.VIEWER].membership.pk),
        "token": str(ApiToken.objects.get(membership=a[Role.ADMIN].membership).pk),
    }
    return World(a, b, ids, b_document)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {_fill(k, ids): _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _client(route: Route, actor: Actor | None) -> Client:
    if actor is None:
        return Client()
    if not route.web:
        return actor.client()
    client = Client()
    client.force_login(actor.user)
    return client


def _send(client: Client, route: Route, call: Call, ids: dict[str, str], data: dict | None, **extra: str) -> Any:
    path = call.path.format(**ids)
    body = _fill(data, ids)
    if call.method == "GET":
        return client.get(path, **extra)
    if route.web:  # forms
        return client.post(path, body or {}, **extra)
    kind = "multipart" if call.multipart else "json"
    return getattr(client, call.method.lower())(path, body or {}, format=kind, **extra)


def _ranked(role: str) -> bool:
    return role in Role.values


def _body(response: HttpResponse) -> Any:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    if response.get("Content-Type", "").startswith("application/json"):
        return response.json()
    return response.content


def _flashed(response: HttpResponse) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _is_api_error(response: HttpResponse) -> bool:
    body = _body(response)
    return isinstance(body, dict) and set(body) == {"error"} and {"code", "message"} <= set(body["error"])


def _calls() -> Iterator[tuple[str, Route, Call]]:
    for key, route in ROUTES.items():
        for call in route.calls:
            yield key, route, call


# --- Role enforcement ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_roles_below_the_minimum_are_refused_and_the_others_are_not(world):
    """Tenant A's own users on tenant A's routes. Reads address A's real objects; writes address a missing object
    or send an empty body, so that an allowed role gets 404 or 400 and no existing object changes."""
    failures = []
    for key, route, call in _calls():
        if not _ranked(call.role):
            continue
        unsafe = call.method != "GET"
        ids = {**world.ids, call.target: MISSING[call.target]} if unsafe and call.target else world.ids
        data = call.data if call.target else None
        for role, actor in world.a.items():
            response = _send(_client(route, actor), route, call, ids, data)
            status = response.status_code
            below = ROLE_RANK[Role(role)] < ROLE_RANK[Role(call.role)]
            if below and call.denied == "redirect":
                ok = status == 302 and any("does not allow" in m for m in _flashed(response))
            elif below and route.web:
                ok = status == 403 and "forbidden.html" in [t.name for t in response.templates]
            elif below:
                ok = (
                    status == 403
                    and _is_api_error(response)
                    and _body(response)["error"]["code"] == "permission_denied"
                )
            elif call.method == "GET":
                # Reads of A's own objects work; a conversation is its owner's alone, like a missing one to others.
                owned = call.target == "conversation" and role != CONVERSATION_OWNER
                ok = status == (404 if owned else 200)
            else:
                ok = status not in (401, 403) and status < 500
            if not ok:
                failures.append((key, call.method, role, status, _body(response)))
    assert failures == []
    # The refused upload above uploaded nothing; the empty one of the editors neither.
    assert Document.objects.filter(tenant=world.a[Role.VIEWER].tenant).count() == 2


@pytest.mark.django_db
def test_anonymous_requests_get_401_403_or_the_login_page_never_data(world):
    failures = []
    for key, route, call in _calls():
        response = _send(Client(), route, call, world.ids, call.data)
        status, location = response.status_code, response.get("Location", "")
        if call.role == PUBLIC:
            ok = status in (200, 302)
        elif call.role == METRICS:
            # The test client is a loopback client, which the metrics view trusts; any other address is refused.
            remote = _send(Client(), route, call, world.ids, None, REMOTE_ADDR="203.0.113.7")
            ok = remote.status_code == 403 and status == 200
        elif route.web:
            ok = status == 302 and location.startswith("/accounts/login/")
        else:
            ok = status in (401, 403) and _is_api_error(response)
        text = json.dumps(_body(response), default=str) if not route.web else response.content.decode(errors="replace")
        leaked = _leaks(text, world)
        if not ok or leaked:
            failures.append((key, call.method, status, location, leaked))
    assert failures == []
    assert Client().get("/").headers["Location"] == "/documents/"  # the public home only redirects


# --- Tenant B addressing tenant A's objects -----------------------------------------------------------------------


def _snapshot(world: World) -> dict[str, list[dict[str, Any]]]:
    """Every row of tenant A's the routes can address, all fields."""
    tenant = world.a[Role.VIEWER].tenant
    rows: dict[str, models.QuerySet] = {
        "documents": Document.objects.filter(tenant=tenant),
        "chunks": Chunk.objects.filter(tenant=tenant),
        "review items": ReviewItem.objects.filter(document__tenant=tenant),
        "conversations": Conversation.objects.filter(tenant=tenant),
        "messages": Message.objects.filter(tenant=tenant),
        "feedback": AnswerFeedback.objects.filter(message__tenant=tenant),
        "memberships": Membership.objects.filter(tenant=tenant),
        "tokens": ApiToken.objects.filter(membership__tenant=tenant),
        "policy": EntityRule.objects.filter(tenant=tenant),
        "allow terms": AllowTerm.objects.filter(tenant=tenant),
    }
    return {name: list(queryset.order_by("pk").values()) for name, queryset in rows.items()}


def _leaks(text: str, world: World) -> list[str]:
    # Small integer ids occur in any text; UUIDs and marker words do not. (Integer ids are covered by comparing
    # whole answers with a missing object's.)
    uuids = [value for value in world.ids.values() if len(value) == 36]
    return [marker for marker in (*A_MARKERS, *uuids) if marker in text]


@pytest.mark.django_db
def test_another_tenants_objects_answer_like_missing_ones_and_do_not_change(world):
    before = _snapshot(world)
    # Not vacuous: the snapshot holds A's rows (an empty one would compare equal whatever happened).
    assert all(before[name] for name in ("documents", "review items", "messages", "feedback", "tokens")), before
    failures = []
    for key, route, call in _calls():
        if call.target is None:
            continue
        missing_ids = {**world.ids, call.target: MISSING[call.target]}
        for role, actor in world.b.items():
            theirs = _send(_client(route, actor), route, call, world.ids, call.data)
            missing = _send(_client(route, actor), route, call, missing_ids, call.data)
            allowed = ROLE_RANK[Role(role)] >= ROLE_RANK[Role(call.role)]
            problems = []
            if theirs.status_code != missing.status_code:
                problems.append("status differs from a missing object's")
            if route.web:
                # Pages carry a fresh CSRF token each time: compare what is left without it.
                strip = re.compile(rb'value="[A-Za-z0-9]{64}"')
                if strip.sub(b"", theirs.content) != strip.sub(b"", missing.content):
                    problems.append("page differs from a missing object's")
            elif _body(theirs) != _body(missing):
                problems.append("body differs from a missing object's")
            if allowed and key == "web:documents-status":
                if theirs.status_code != 200 or theirs.json() != {"documents": []}:
                    problems.append("status rows of another tenant's document")
            elif allowed and theirs.status_code != 404:
                problems.append("not a 404")
            elif allowed and not route.web and _body(theirs) != NOT_FOUND:
                problems.append("not the NOT_FOUND body")
            text = theirs.content.decode(errors="replace") if not getattr(theirs, "streaming", False) else ""
            if _leaks(text, world):
                problems.append(f"leaks {_leaks(text, world)}")
            if problems:
                failures.append((key, call.method, role, theirs.status_code, missing.status_code, problems))
    assert failures == []
    assert _snapshot(world) == before


@pytest.mark.django_db
def test_another_tenants_lists_pages_and_search_show_nothing_of_tenant_a(world):
    # Not vacuous: the query finds A's document for A.
    query = {"query": "Nightjar programme budget 4.2 million", "top_k": 20}
    own = world.a[Role.VIEWER].client().post("/api/v1/search", query, format="json").json()["results"]
    assert world.ids["document"] in {hit["document_id"] for hit in own}
    failures = []
    for role, actor in world.b.items():
        client = actor.client()
        for path in ("/api/v1/documents", "/api/v1/review", "/api/v1/conversations"):
            response = client.get(path)
            if response.status_code not in (200, 403) or _leaks(response.content.decode(), world):
                failures.append((role, path, response.status_code))
        if role == Role.ADMIN:
            for path in ("/api/v1/tenant/members", "/api/v1/tenant/tokens"):
                rows = client.get(path).json()["results"]
                owners = {row.get("username") or row.get("owner") for row in rows}
                if not owners or not all(owner.startswith("bravo_") for owner in owners):
                    failures.append((role, path, owners))
        for mode in SEARCH_MODES:
            found = client.post("/api/v1/search", {**query, "mode": mode}, format="json")
            hits = {hit["document_id"] for hit in found.json()["results"]}
            if found.status_code != 200 or not hits <= {str(world.b_document.pk)}:
                failures.append((role, "search", mode, hits))
        page = Client()
        page.force_login(actor.user)
        # Choosing tenant A in the switcher must not switch a non-member into it.
        page.post("/tenant", {"tenant": "tenant-a", "next": "/documents/"})
        if page.session.get(SESSION_TENANT_KEY) not in (None, actor.tenant.pk):
            failures.append((role, "switched into tenant A"))
        for path in ("/documents/", "/review/", "/ask/", "/tenant/", "/documents/status?ids=" + world.ids["document"]):
            response = page.get(path)
            if response.status_code not in (200, 403) or _leaks(response.content.decode(), world):
                failures.append((role, path, response.status_code, _leaks(response.content.decode(), world)))
    assert failures == []


@pytest.mark.django_db
def test_a_member_of_both_tenants_acts_only_as_the_tenant_of_the_token_or_session(world):
    """Someone who administers A and only views B: B's token and a session switched to B reach nothing of A's."""
    make_actor("tenant-a", "dual", Role.ADMIN)
    as_b = make_actor("tenant-b", "dual", Role.VIEWER)
    client = as_b.client()
    for path in ("/api/v1/documents/{document}", "/api/v1/conversations/{conversation}"):
        response = client.get(path.format(**world.ids))
        assert response.status_code == 404 and response.json() == NOT_FOUND, path
    assert client.get("/api/v1/tenant/members").status_code == 403  # B's role, not A's
    assert client.get("/api/v1/tenant/members/{member}".format(**world.ids)).status_code == 403
    assert not _leaks(client.get("/api/v1/documents").content.decode(), world)
    page = Client()
    page.force_login(as_b.user)
    page.post("/tenant", {"tenant": "tenant-b"})
    assert page.get("/documents/{document}/".format(**world.ids)).status_code == 404
    assert page.get("/tenant/").status_code == 403
    assert not _leaks(page.get("/documents/").content.decode(), world)


@pytest.mark.django_db
def test_mixing_own_and_another_tenants_ids_reaches_nothing_of_a(world):
    """B's own objects in the path, A's ids in the body or file: the duplicate check of uploads and the review
    items of a held document are looked up in B's tenant only."""
    before = _snapshot(world)
    editor = world.b[Role.EDITOR]
    uploaded = editor.client().post("/api/v1/documents", {"file": _file("copy.txt", SECRET)}, format="multipart")
    assert uploaded.status_code == 202 and uploaded.json()["duplicate"] is False, uploaded.content
    assert uploaded.json()["id"] != world.ids["document"]
    page = Client()
    page.force_login(editor.user)
    again = page.post("/documents/", {"file": _file("memo.txt", MEMO)})
    assert again.status_code == 302 and again["Location"] == "/documents/"  # new, not "already uploaded"
    assert world.ids["held"] not in again["Location"]

    EntityRule.objects.create(tenant=editor.tenant, entity_type="PERSON", threshold=0.7, uncertain=UncertainAction.HOLD)
    b_held = ingest(editor, "memo-b.txt", MEMO.replace(b"April", b"May"))
    assert b_held.status == Document.Status.HELD
    reviewer = world.b[Role.REVIEWER].client()
    answers = []
    for item in (world.ids["item"], MISSING["item"]):
        decisions = {"decisions": [{"item": int(item), "decision": "rejected", "remember": True}]}
        response = reviewer.post(f"/api/v1/review/{b_held.pk}/decisions", decisions, format="json")
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] and answers[0][0] == 404, answers
    web_answers = []
    for item in (world.ids["item"], MISSING["item"]):
        web_page = Client()
        web_page.force_login(world.b[Role.REVIEWER].user)
        response = web_page.post(f"/review/{b_held.pk}/", {f"item-{item}": "rejected", f"remember-{item}": "on"})
        web_answers.append((response.status_code, response.get("Location"), _flashed(response)))
    assert web_answers[0] == web_answers[1], web_answers
    assert _snapshot(world) == before
    assert not AllowTerm.objects.filter(tenant=editor.tenant, term__in=["Lakshmi", "Tanvi"]).exists()


def _file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/plain")


# --- OpenAI-compatible endpoints ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_openai_endpoints_answer_from_the_tokens_tenant_only(world):
    client = world.b[Role.VIEWER].client()
    listed = client.get("/v1/models")
    assert listed.status_code == 200 and listed.json()["object"] == "list"
    assert not _leaks(listed.content.decode(), world)
    question = {"role": "user", "content": "What is the budget of the Nightjar programme for 2026?"}
    own = str(world.b_document.pk)

    answered = client.post("/v1/chat/completions", {"messages": [question], "top_k": 10}, format="json")
    assert answered.status_code == 200, answered.content
    body = answered.json()
    assert {c["document_id"] for c in body["citations"]} <= {own}
    content = body["choices"][0]["message"]["content"]
    assert "4.2" not in content and world.ids["document"] not in content

    streamed = client.post("/v1/chat/completions", {"messages": [question], "top_k": 10, "stream": True}, format="json")
    assert streamed.status_code == 200 and streamed["Content-Type"].startswith("text/event-stream")
    chunks = [
        json.loads(line.removeprefix("data: "))
        for line in b"".join(streamed.streaming_content).decode().splitlines()
        if line.startswith("data: {")
    ]
    assert chunks and not any("error" in chunk for chunk in chunks), chunks
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    cited = {c["document_id"] for chunk in chunks for c in chunk.get("citations", [])}
    assert cited <= {own} and "4.2" not in text and world.ids["document"] not in text


# --- Django admin -------------------------------------------------------------------------------------------------


def _admin_url(pattern: str, object_id: str) -> str:
    """A concrete URL for an admin pattern: object ids filled in, the app index and catch-all given a value."""
    if pattern.endswith("(?P<url>.*)$"):
        return "/admin/no-such-page/"
    if "(?P<app_label>" in pattern:
        first = next(iter(admin.site._registry))._meta.app_label
        return f"/admin/{first}/"
    return "/" + re.sub(r"<[^>]+>", object_id, pattern)


def _admin_answer(client: Client, url: str, pk: object) -> tuple[int, list, list[str]]:
    response = client.get(url, follow=True)
    shown = response.context["messages"] if response.context and "messages" in response.context else []
    chain = [(url.replace(str(pk), "<id>"), status) for url, status in response.redirect_chain]
    return response.status_code, chain, [str(m).replace(str(pk), "<id>") for m in shown]


def _admin_rows_of_b(world: World) -> None:
    """A row of every tenant-scoped admin model in tenant B (the world has its tenant, members, tokens, documents,
    chunks, audit events and an allow term already)."""
    tenant = world.b[Role.ADMIN].tenant
    ResidencyRule.objects.create(tenant=tenant, redact_entities=list(DEFAULT_REDACT_ENTITIES))
    EntityRule.objects.create(tenant=tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)
    DenyTerm.objects.create(tenant=tenant, term="bravo denied term")
    CustomRecognizer.objects.create(tenant=tenant, label="BRAVO_ID", pattern=r"\bbravo-\d{6}\b")
    ErasureReceipt.objects.create(
        tenant=tenant, identifier_fingerprint="0" * 16, mode="redact", requested_by="bravo", verified=True, receipt={}
    )
    # Pseudonymised under the rule above: a vault entry of B's.
    ingest(world.b[Role.EDITOR], "minutes.txt", b"Minutes bravo. Kavya Iyer approved the bravo budget.")


@pytest.mark.django_db
def test_admin_urls_need_staff_and_staff_of_a_see_nothing_of_b(world):
    # Every admin URL of the resolver: anonymous and non-staff members (even a tenant admin) only reach the login.
    urls = [_admin_url(pattern, "1") for _, pattern in resolver_routes() if pattern.startswith("admin/")]
    non_staff = Client()
    non_staff.force_login(world.a[Role.ADMIN].user)
    for client in (Client(), non_staff):
        for url in urls:
            response = client.get(url)
            if url == "/admin/login/":
                assert response.status_code in (200, 302), url
                continue
            # Logging out of the admin without a session sends one to the admin's index, which then asks for login.
            expected = "/admin/" if url == "/admin/logout/" else "/admin/login/?next="
            assert response.status_code == 302 and response["Location"].startswith(expected), (url, response)

    a_tenant, b_tenant = world.a[Role.ADMIN].tenant, world.b[Role.ADMIN].tenant
    _admin_rows_of_b(world)
    staff, _, _ = tenant_bootstrap(slug=a_tenant.slug, username="alpha_staff", role=Role.ADMIN, staff=True)
    client = Client()
    client.force_login(staff.user)
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        if model in UNSCOPED_ADMIN_MODELS:
            assert client.get(base).status_code == 403, model
            continue
        # A new admin that is not tenant-scoped fails here rather than showing every tenant.
        assert isinstance(model_admin, TenantScopedAdmin), model
        lookup = model_admin.tenant_lookup
        response = client.get(base)
        assert response.status_code == 200, model
        shown = response.context["cl"].queryset
        assert not shown.filter(**{lookup: b_tenant.pk}).exists(), model
        # Not vacuous: the administered tenant's rows are listed.
        own = model._default_manager.filter(**{lookup: a_tenant.pk})
        assert set(shown.filter(pk__in=own.values("pk"))) == set(own), model
        page = response.content.decode()
        for leak in ("tenant-b", "Tenant B", "bravo", "Canteen", "canteen", "Kavya"):
            assert leak not in page, (model, leak)
        b_row = model._default_manager.filter(**{lookup: b_tenant.pk}).order_by("pk").first()
        assert b_row is not None, f"no row of {model} in tenant B: add one to _admin_rows_of_b"
        missing = uuid.uuid4() if isinstance(model._meta.pk, models.UUIDField) else 987654321
        for view in ("change/", "history/", "delete/", ""):
            answers = [_admin_answer(client, f"{base}{pk}/{view}", pk) for pk in (b_row.pk, missing)]
            assert answers[0] == answers[1], (model, view, answers)
        # "View on site" looks the object up by content type, past the ModelAdmin's scoped queryset.
        content_type = ContentType.objects.get_for_model(model)
        theirs, absent = (client.get(f"/admin/r/{content_type.pk}/{pk}/") for pk in (b_row.pk, missing))
        assert (theirs.status_code, theirs.content) == (absent.status_code, absent.content), model


# --- MCP ----------------------------------------------------------------------------------------------------------


def _mcp_text(result: Any) -> str:
    return json.dumps(result.structured_content) if result.structured_content else result.content[0].text


@pytest.mark.django_db(transaction=True)  # the SDK runs the tools in worker threads, on connections of their own
def test_mcp_tools_of_bs_token_do_not_reach_as_document(alice, charlie):
    secret = ingest(alice, "nightjar.txt", SECRET, title="Nightjar budget")
    own = ingest(charlie, "canteen.txt", CANTEEN, title="Canteen hours")
    server = build_server(key=charlie.key)
    seen: dict[str, Any] = {}

    async def session() -> None:
        from mcp.server.mcpserver.exceptions import ToolError

        for name, arguments in (
            ("theirs", {"document_id": str(secret.pk)}),
            ("missing", {"document_id": MISSING["document"]}),
        ):
            try:
                seen[name] = _mcp_text(await server.call_tool("get_document", arguments))
            except ToolError as exc:
                seen[name] = f"ToolError: {exc}"
        seen["search"] = await server.call_tool("search", {"query": "Nightjar programme budget", "top_k": 20})
        seen["list"] = await server.call_tool("list_documents", {})
        # The tools ran in the SDK's worker thread, which opened its own connection: close it, or the test
        # database cannot be dropped at the end of the run.
        await anyio.to_thread.run_sync(connections.close_all)

    anyio.run(session)
    assert seen["theirs"] == seen["missing"], seen
    assert "Nightjar" not in seen["theirs"] and "4.2" not in seen["theirs"]
    hits = {hit["document_id"] for hit in json.loads(_mcp_text(seen["search"]))["results"]}
    assert hits <= {str(own.pk)}
    assert [row["id"] for row in json.loads(_mcp_text(seen["list"]))["documents"]] == [str(own.pk)]
