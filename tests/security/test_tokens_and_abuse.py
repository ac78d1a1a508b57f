"""Token scopes, per-token API rate limits and login lockout (issue 15), against the real stack: each refusal is a
429 with Retry-After or a 403 with a machine-readable code, and is audited without personal data."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.test import APIClient

from cleanroom.audit.models import AuditEvent
from cleanroom.tenants.models import ApiToken, Role, Scope
from cleanroom.tenants.services import api_token_create
from tests.conftest import make_actor

PASSWORD = "correct-horse-42"


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _token(membership, scopes: list[str]) -> APIClient:  # noqa: ANN001
    _, key = api_token_create(membership=membership, name="scoped", scopes=scopes)
    return _client(key)


def _upload(client: APIClient, name: str = "note.txt"):  # noqa: ANN202
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/v1/documents", {"file": SimpleUploadedFile(name, b"The canteen opens at 8.")})


@pytest.mark.django_db
class TestScopes:
    def test_a_read_token_reads_but_cannot_upload_ask_or_administer(self):
        admin = make_actor("tenant-a", "ada", Role.ADMIN)
        read = _token(admin.membership, [Scope.READ])
        assert read.get("/api/v1/documents").status_code == 200
        assert read.post("/api/v1/search", {"query": "canteen"}, format="json").status_code == 200
        assert read.get("/v1/models").status_code == 200  # OpenAI clients list models before anything else
        refused = {
            "upload": _upload(read),
            "query": read.post("/api/v1/query", {"question": "When does the canteen open?"}, format="json"),
            "chat": read.post(
                "/v1/chat/completions", {"model": "x", "messages": [{"role": "user", "content": "hi"}]}, format="json"
            ),
            "tokens": read.get("/api/v1/tenant/tokens"),
            "review": read.get("/api/v1/review"),
        }
        for name, response in refused.items():
            assert response.status_code == 403, name
            assert response.json()["error"]["code"] == "insufficient_scope", name
        # Nothing was stored by the refused upload.
        assert read.get("/api/v1/documents").json()["count"] == 0

    def test_a_query_token_asks_but_cannot_list_documents(self):
        admin = make_actor("tenant-a", "ada", Role.ADMIN)
        query = _token(admin.membership, [Scope.QUERY])
        response = query.post("/api/v1/query", {"question": "When does the canteen open?"}, format="json")
        assert response.status_code == 200
        assert query.get("/api/v1/documents").status_code == 403
        assert query.get("/v1/models").status_code == 200

    def test_scopes_never_exceed_the_role(self):
        viewer = make_actor("tenant-a", "vera", Role.VIEWER)
        everything = _token(viewer.membership, list(Scope.values))
        response = _upload(everything)
        assert response.status_code == 403 and response.json()["error"]["code"] != "insufficient_scope"

    def test_tokens_created_without_scopes_have_them_all_but_reveal_and_say_which(self):
        admin = make_actor("tenant-a", "ada", Role.ADMIN)
        client = admin.client()
        created = client.post("/api/v1/tenant/tokens", {"name": "ci"}, format="json")
        assert created.status_code == 201 and created.json()["scopes"] == [s for s in Scope.values if s != "reveal"]
        narrow = client.post("/api/v1/tenant/tokens", {"name": "bot", "scopes": ["query", "read"]}, format="json")
        assert narrow.status_code == 201 and narrow.json()["scopes"] == ["read", "query"]
        event = AuditEvent.objects.filter(action="api_token.created").order_by("-id").first()
        assert event is not None and event.details["scopes"] == ["read", "query"]
        bad = client.post("/api/v1/tenant/tokens", {"scopes": ["root"]}, format="json")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_input"
        empty = client.post("/api/v1/tenant/tokens", {"scopes": []}, format="json")
        assert empty.status_code == 400

    def test_the_web_page_creates_a_scoped_token(self):
        admin = make_actor("tenant-a", "ada", Role.ADMIN)
        web = Client()
        web.force_login(admin.user)
        page = web.get("/tenant/")
        assert b'name="scopes" value="upload"' in page.content
        response = web.post("/tenant/tokens/create", {"name": "reader", "scopes": ["read"]})
        assert response.status_code == 200
        assert ApiToken.objects.get(name="reader").scopes == ["read"]

    def test_mcp_tools_ask_for_the_same_scopes(self):
        from mcp.server.mcpserver.exceptions import ToolError

        from retrieval.mcp_server import token_membership

        admin = make_actor("tenant-a", "ada", Role.ADMIN)
        _, key = api_token_create(membership=admin.membership, scopes=[Scope.READ])
        assert token_membership(key, Scope.READ) == admin.membership
        with pytest.raises(ToolError, match="scope"):
            token_membership(key, Scope.QUERY)


@pytest.mark.django_db
class TestApiRateLimits:
    @override_settings(API_RATE="3/minute")
    def test_the_fourth_call_in_a_minute_is_429_with_retry_after_and_audited_once(self, alice, charlie):
        client = alice.client()
        assert [client.get("/api/v1/documents").status_code for _ in range(3)] == [200, 200, 200]
        refused = [client.get("/api/v1/documents") for _ in range(3)]
        for response in refused:
            assert response.status_code == 429
            assert response.json()["error"]["code"] == "throttled"
            assert 1 <= int(response["Retry-After"]) <= 60
        # Another token (here: another tenant's) has its own budget.
        assert charlie.client().get("/api/v1/documents").status_code == 200
        events = list(AuditEvent.objects.filter(action="api.throttled"))
        assert len(events) == 1
        event = events[0]
        assert event.tenant_id == alice.tenant.pk and event.actor_id == alice.user.pk
        assert event.details["key_prefix"] == ApiToken.objects.get(membership=alice.membership).key_prefix
        assert "alice" not in json.dumps(event.details) + event.actor_label

    @override_settings(ANSWER_RATE="1/minute")
    def test_answers_have_their_own_budget(self, alice):
        client = alice.client()
        question = {"question": "When does the canteen open?"}
        assert client.post("/api/v1/query", question, format="json").status_code == 200
        second = client.post("/api/v1/query", question, format="json")
        assert second.status_code == 429 and "Retry-After" in second
        chat = client.post(
            "/v1/chat/completions", {"model": "x", "messages": [{"role": "user", "content": "hi"}]}, format="json"
        )
        assert chat.status_code == 429
        # Searching is not answering.
        assert client.post("/api/v1/search", {"query": "canteen"}, format="json").status_code == 200

    @override_settings(API_RATE="off")
    def test_off_means_unlimited(self, alice):
        client = alice.client()
        assert {client.get("/api/v1/documents").status_code for _ in range(20)} == {200}

    def test_a_cache_that_is_down_lets_requests_through(self, alice):
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        caches = {
            "default": {
                "BACKEND": "cleanroom.cache.FailOpenRedisCache",
                "LOCATION": f"redis://127.0.0.1:{closed}/0",
                "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
            }
        }
        with override_settings(CACHES=caches, API_RATE="1/minute"):
            started = time.monotonic()
            statuses = [alice.client().get("/api/v1/documents").status_code for _ in range(3)]
            assert statuses == [200, 200, 200]
            assert time.monotonic() - started < 5


@pytest.mark.django_db
class TestLoginLockout:
    def _login(self, web: Client, username: str, password: str):  # noqa: ANN202
        return web.post("/accounts/login/", {"username": username, "password": password})

    @override_settings(AXES_FAILURE_LIMIT=5)
    def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(self, alice, caplog):
        web = Client()
        caplog.set_level(logging.DEBUG)
        statuses = [self._login(web, "alice", f"wrong-{n}").status_code for n in range(5)]
        assert statuses[:4] == [200, 200, 200, 200]  # the form again, with its error
        assert statuses[4] == 429
        right = self._login(web, "alice", PASSWORD)
        assert right.status_code == 429
        assert int(right["Retry-After"]) == 15 * 60
        assert "Too many failed logins" in right.content.decode()
        assert "_auth_user_id" not in web.session
        # Another user from the same address is not locked out.
        make_actor("tenant-a", "bob", Role.VIEWER)
        assert self._login(Client(), "bob", PASSWORD).status_code == 302
        # Audited once, without the username or the address; nothing logged names either.
        events = list(AuditEvent.objects.filter(action="auth.locked_out"))
        assert len(events) == 1
        assert events[0].details["user_id"] == alice.user.pk
        trail = json.dumps(events[0].details) + events[0].actor_label
        assert "alice" not in trail and "127.0.0.1" not in trail
        assert "alice" not in caplog.text and "127.0.0.1" not in caplog.text

    @override_settings(AXES_FAILURE_LIMIT=3)
    def test_the_lockout_ends_with_its_cool_off(self, alice):
        web = Client()
        for n in range(3):
            self._login(web, "alice", f"wrong-{n}")
        assert self._login(web, "alice", PASSWORD).status_code == 429
        cache.clear()  # what the cool-off's expiry does
        assert self._login(web, "alice", PASSWORD).status_code == 302

    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_json_clients_get_the_error_shape(self, alice):
        web = Client(HTTP_ACCEPT="application/json")
        for n in range(2):
            self._login(web, "alice", f"wrong-{n}")
        response = self._login(web, "alice", PASSWORD)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "locked_out"
        assert response["Retry-After"]

    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_admin_login_is_locked_out_too(self, alice):
        web = Client()
        for n in range(2):
            web.post("/admin/login/", {"username": "alice", "password": f"wrong-{n}"})
        assert web.post("/admin/login/", {"username": "alice", "password": PASSWORD}).status_code == 429
