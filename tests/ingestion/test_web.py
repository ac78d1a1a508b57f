from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ingestion.models import Document
from tests.conftest import ingest, make_actor

POLICY = b"Parking policy.\n\nStaff may park in the north garage from 7 to 19 on weekdays with a permit.\n"


@pytest.mark.django_db
class TestWebUi:
    def test_login_page_and_redirect_when_anonymous(self, client):
        assert client.get("/accounts/login/").status_code == 200
        response = client.get("/documents/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_login_with_password_then_see_documents(self, client, alice):
        ingest(alice, "parking.txt", POLICY, title="Parking")
        response = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-42"})
        assert response.status_code == 302
        page = client.get("/documents/")
        assert page.status_code == 200
        assert b"Parking" in page.content and b"Indexed" in page.content

    def test_upload_from_the_web_queues_a_document(self, client, alice):
        client.force_login(alice.user)
        response = client.post("/documents/", {"file": SimpleUploadedFile("parking.txt", POLICY), "title": "P"})
        assert response.status_code == 302
        assert Document.objects.filter(tenant=alice.tenant, status="queued").count() == 1

    def test_bad_upload_from_the_web_shows_the_reason(self, client, alice):
        client.force_login(alice.user)
        response = client.post("/documents/", {"file": SimpleUploadedFile("x.txt", b"\x7fELF\x02\x01")}, follow=True)
        assert b"supported types are" in response.content
        assert not Document.objects.exists()

    def test_viewer_sees_no_upload_form_and_cannot_post(self, client, bob):
        client.force_login(bob.user)
        assert b'type="file"' not in client.get("/documents/").content
        client.post("/documents/", {"file": SimpleUploadedFile("p.txt", POLICY)})
        assert not Document.objects.exists()

    def test_status_endpoint_reports_live_status_of_own_documents_only(self, client, alice, charlie):
        mine = ingest(alice, "parking.txt", POLICY)
        theirs = ingest(charlie, "other.txt", POLICY)
        client.force_login(alice.user)
        body = client.get(f"/documents/status?ids={mine.pk},{theirs.pk}").json()
        assert [row["id"] for row in body["documents"]] == [str(mine.pk)]
        assert body["documents"][0]["status"] == "indexed"

    def test_ask_page_shows_answer_and_sources(self, client, alice):
        document = ingest(alice, "parking.txt", POLICY, title="Parking")
        client.force_login(alice.user)
        response = client.post("/ask/", {"question": "Where can staff park on weekdays?", "top_k": 3})
        assert response.status_code == 200
        assert b"Answer" in response.content
        assert str(document.pk).encode() in response.content

    def test_document_detail_shows_redacted_text_only(self, client, alice):
        document = ingest(alice, "contact.txt", b"Parking questions go to Arjun Mehta, arjun.mehta@example.com.")
        client.force_login(alice.user)
        page = client.get(f"/documents/{document.pk}/").content
        assert b"arjun.mehta@example.com" not in page and b"Arjun" not in page
        assert b"&lt;EMAIL_ADDRESS&gt;" in page

    def test_switching_tenant_changes_what_is_shown(self, client, alice):
        other = make_actor("tenant-c", "alice", "editor")
        ingest(other, "c.txt", b"Tenant C handbook about bicycles.", title="Bicycles")
        client.force_login(other.user)  # same user as alice, reloaded after the second membership
        client.post("/tenant", {"tenant": "tenant-c", "next": "/documents/"})
        assert b"Bicycles" in client.get("/documents/").content
        client.post("/tenant", {"tenant": "tenant-a", "next": "/documents/"})
        assert b"Bicycles" not in client.get("/documents/").content
