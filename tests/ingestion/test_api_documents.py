from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from ingestion.models import Chunk, Document
from ingestion.pipeline import document_process
from tests.conftest import ingest, upload
from tests.helpers.samples import make_pdf

TEXT = b"Expense policy.\n\nTaxis are reimbursed up to 40 EUR per ride with a receipt.\n"


def _post(client: APIClient, name: str, data: bytes, **extra: str):
    return client.post("/api/v1/documents", {"file": SimpleUploadedFile(name, data), **extra}, format="multipart")


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


@pytest.mark.django_db
class TestUpload:
    def test_upload_is_accepted_and_queued(self, alice):
        response = _post(alice.client(), "expenses.txt", TEXT, title="Expenses")
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "queued"
        document = Document.objects.get(pk=body["id"])
        assert document.tenant == alice.tenant
        # Nothing unredacted is in the database yet: the title waits in quarantine until the worker redacts it.
        assert document.title == ""

    def test_worker_is_queued_only_after_commit(self, alice, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = _post(alice.client(), "expenses.txt", TEXT)
        assert response.status_code == 202
        assert len(callbacks) == 1

    def test_raw_upload_is_deleted_once_indexed(self, alice):
        document = ingest(alice, "expenses.txt", TEXT)
        assert document.status == Document.Status.INDEXED
        assert not any(settings.UPLOAD_DIR.glob(f"{document.pk}*"))

    def test_unsupported_type_gets_415(self, alice):
        response = _post(alice.client(), "photo.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
        assert response.status_code == 415
        assert _error(response)["code"] == "unsupported_media_type"
        assert not Document.objects.exists()

    def test_empty_file_gets_clear_error(self, alice):
        response = _post(alice.client(), "empty.txt", b"")
        assert response.status_code == 400
        assert _error(response)["code"] == "empty_file"
        assert not Document.objects.exists()

    def test_missing_file_field_is_invalid_input(self, alice):
        response = alice.client().post("/api/v1/documents", {"title": "x"}, format="multipart")
        assert response.status_code == 400
        assert _error(response)["code"] == "invalid_input"

    def test_file_over_the_limit_gets_413(self, alice, settings):
        settings.MAX_UPLOAD_BYTES = 100
        response = _post(alice.client(), "big.txt", b"a" * 101)
        assert response.status_code == 413
        assert _error(response)["code"] == "file_too_large"

    def test_corrupt_pdf_fails_with_a_reason_and_keeps_other_documents(self, alice):
        good = ingest(alice, "expenses.txt", TEXT)
        response = _post(alice.client(), "broken.pdf", b"%PDF-1.4\n" + b"\x00\x01garbage" * 40)
        assert response.status_code == 202
        document_process(document_id=response.json()["id"])
        detail = alice.client().get(f"/api/v1/documents/{response.json()['id']}").json()
        assert detail["status"] == "failed"
        assert detail["error"]["code"] in {"corrupt_file", "no_text"}
        assert detail["error"]["message"]
        good.refresh_from_db()
        assert good.status == Document.Status.INDEXED and good.chunks.count() == good.chunk_count > 0

    def test_pdf_is_indexed_with_page_sections(self, alice):
        document = ingest(alice, "handbook.pdf", make_pdf(["Handbook", "Laptops are replaced every four years."]))
        assert document.status == Document.Status.INDEXED
        assert "page 2" in set(document.chunks.values_list("section", flat=True))

    def test_processing_twice_does_not_duplicate_chunks(self, alice):
        document = ingest(alice, "expenses.txt", TEXT)
        count = Chunk.objects.filter(document=document).count()
        document_process(document_id=str(document.pk))  # a redelivered task
        assert Chunk.objects.filter(document=document).count() == count

    def test_viewer_cannot_upload(self, bob):
        response = _post(bob.client(), "expenses.txt", TEXT)
        assert response.status_code == 403
        assert not Document.objects.exists()


@pytest.mark.django_db
class TestReadAndDelete:
    def test_detail_shows_status_and_redaction_counts(self, alice):
        document = ingest(alice, "contacts.txt", b"Write to jane.doe@example.com or call 415-555-0132 about refunds.")
        body = alice.client().get(f"/api/v1/documents/{document.pk}").json()
        assert body["status"] == "indexed"
        assert body["redaction_counts"]["EMAIL_ADDRESS"] == 1
        assert body["redaction_counts"]["PHONE_NUMBER"] == 1
        assert body["error"] is None

    def test_list_is_paginated_and_filterable(self, alice):
        ingest(alice, "one.txt", TEXT)
        upload(alice, "two.txt", b"Second document about parking permits.")
        client = alice.client()
        body = client.get("/api/v1/documents?limit=1").json()
        assert body["count"] == 2 and len(body["results"]) == 1
        assert client.get("/api/v1/documents?status=queued").json()["count"] == 1
        assert len(client.get("/api/v1/documents?limit=100000").json()["results"]) == 2  # capped, not refused
        bad = client.get("/api/v1/documents?status=bogus")
        assert bad.status_code == 400 and _error(bad)["code"] == "invalid_input"

    def test_delete_removes_chunks(self, alice):
        document = ingest(alice, "expenses.txt", TEXT)
        response = alice.client().delete(f"/api/v1/documents/{document.pk}")
        assert response.status_code == 204
        assert not Document.objects.filter(pk=document.pk).exists()
        assert not Chunk.objects.filter(document_id=document.pk).exists()

    def test_malformed_id_is_404(self, alice):
        assert alice.client().get("/api/v1/documents/not-a-uuid").status_code == 404


@pytest.mark.django_db
class TestAuthentication:
    def test_unauthenticated_call_is_refused(self, alice):
        response = APIClient().get("/api/v1/documents")
        assert response.status_code == 401
        assert _error(response)["code"] == "not_authenticated"
        assert APIClient().post("/api/v1/query", {"question": "x"}, format="json").status_code == 401

    def test_wrong_token_is_refused(self, alice):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token crk_not-a-real-key")
        response = client.get("/api/v1/documents")
        assert response.status_code == 401
        assert _error(response)["code"] == "authentication_failed"

    def test_bearer_scheme_is_accepted_for_openai_clients(self, alice):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.key}")
        assert client.get("/api/v1/documents").status_code == 200

    def test_revoked_token_is_refused(self, alice):
        from cleanroom.tenants.models import ApiToken
        from cleanroom.tenants.services import api_token_revoke

        api_token_revoke(token=ApiToken.objects.get(membership=alice.membership))
        assert alice.client().get("/api/v1/documents").status_code == 401

    def test_tokens_are_stored_hashed(self, alice):
        from cleanroom.tenants.models import ApiToken

        token = ApiToken.objects.get(membership=alice.membership)
        assert alice.key not in (token.key_hash, token.key_prefix)
        assert len(token.key_hash) == 64
