"""Every request-body error answers the one JSON error shape on API paths (and a 4xx, never a 500, on web pages):
NUL bytes, deeply nested JSON, oversize bodies, bad text files; nothing is stored when a request is refused."""

from __future__ import annotations

import json
import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ingestion.models import Document
from tests.conftest import upload


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()["error"]
    assert body["code"] == code and body["message"]
    return body


def test_nul_in_json_strings_is_refused_on_every_api_path(alice):
    client = alice.client()
    _error(client.post("/api/v1/query", {"question": "leave\x00days"}, format="json"), 400, "invalid_input")
    _error(client.post("/api/v1/search", {"query": "a\x00"}, format="json"), 400, "invalid_input")
    body = {"model": "default", "messages": [{"role": "user", "content": "hello\x00"}]}
    _error(client.post("/v1/chat/completions", body, format="json"), 400, "invalid_input")
    _error(client.post("/api/v1/conversations", {"question\x00": "x"}, format="json"), 400, "invalid_input")


def test_deep_json_is_refused_quickly(alice):
    client = alice.client()
    deep = "[" * 100_000 + "]" * 100_000
    started = time.monotonic()
    response = client.post("/api/v1/query", deep, content_type="application/json")
    assert time.monotonic() - started < 2
    _error(response, 400, "invalid_input")
    # 64 levels are still fine for the parser (the view then says what is wrong with the question).
    nested = {"question": "annual leave"}
    for _ in range(60):
        nested = {"x": nested}
    assert client.post("/api/v1/search", nested, format="json").status_code == 400  # no "query": a 400, not a 500


def test_oversize_bodies_are_413_json_on_the_api(alice):
    client = alice.client()
    big = json.dumps({"question": "x" * (3 * 1024 * 1024)})
    body = _error(client.post("/api/v1/query", big, content_type="application/json"), 413, "payload_too_large")
    assert "MB" in body["message"]
    _error(client.post("/v1/chat/completions", big, content_type="application/json"), 413, "payload_too_large")


def test_nul_in_query_strings_and_web_forms(alice):
    _error(alice.client().get("/api/v1/documents?status=%00"), 400, "invalid_input")
    web = Client()
    web.force_login(alice.user)
    response = web.get("/documents/?q=%00")
    assert response.status_code == 400
    response = web.post("/tenant/members/add", {"username": "eve\x00", "role": "viewer"})
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_text_file_with_nul_after_the_first_8_kb_is_refused_at_upload(alice):
    kept = upload(alice, "kept.txt", b"Annual leave is 24 days.\n")
    data = b"Travel policy.\n" * 1000 + b"\x00 rest"
    assert len(data) > 8192
    response = alice.client().post("/api/v1/documents", {"file": SimpleUploadedFile("policy.txt", data)})
    body = _error(response, 400, "invalid_text")
    assert "NUL" in body["message"]
    assert list(Document.objects.filter(tenant=alice.tenant).values_list("pk", flat=True)) == [kept.pk]
    # Undecodable bytes that only start like text are refused the same way.
    latin = b"Leave policy " * 5000 + bytes(range(0x80, 0x100)) * 40 + b"\x00"
    _error(alice.client().post("/api/v1/documents", {"file": SimpleUploadedFile("x.txt", latin)}), 400, "invalid_text")
    kept.refresh_from_db()
    assert kept.status == "queued"
