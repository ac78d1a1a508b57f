from __future__ import annotations

import pytest

from tests.conftest import ingest

SECRET_DOC = (
    b"Project Nightjar budget.\n\nThe Nightjar programme has a budget of 4.2 million euros for 2026, "
    b"approved by the board in January.\n"
)


@pytest.mark.django_db
class TestTenantIsolation:
    """Charlie (tenant B) should have no access to Alice's stuff (tenant A)."""

    def test_other_tenant_gets_404_like_a_missing_document(self, alice, charlie):
        document = ingest(alice, "nightjar.txt", SECRET_DOC)
        theirs = charlie.client().get(f"/api/v1/documents/{document.pk}")
        missing = charlie.client().get("/api/v1/documents/00000000-0000-4000-8000-000000000000")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()
        assert charlie.client().delete(f"/api/v1/documents/{document.pk}").status_code == 404
        assert alice.client().get(f"/api/v1/documents/{document.pk}").status_code == 200

    def test_lists_show_only_own_documents(self, alice, charlie):
        ingest(alice, "nightjar.txt", SECRET_DOC)
        ingest(charlie, "canteen.txt", b"The canteen opens at 8 and serves lunch until 14.")
        assert [d["title"] for d in charlie.client().get("/api/v1/documents").json()["results"]] == ["canteen"]
        assert [d["title"] for d in alice.client().get("/api/v1/documents").json()["results"]] == ["nightjar"]

    def test_query_never_retrieves_another_tenants_chunks(self, alice, charlie):
        secret = ingest(alice, "nightjar.txt", SECRET_DOC)
        own = ingest(charlie, "canteen.txt", b"The canteen opens at 8 and serves lunch until 14.")
        response = charlie.client().post(
            "/api/v1/query",
            {"question": "What is the budget of the Nightjar programme?", "top_k": 10},
            format="json",
        )
        assert response.status_code == 200
        body = response.json()
        cited = {c["document_id"] for c in body["citations"]}
        assert str(secret.pk) not in cited
        assert cited <= {str(own.pk)}
        assert "4.2" not in body["answer"]

    def test_web_detail_of_other_tenant_is_404(self, alice, charlie, client):
        document = ingest(alice, "nightjar.txt", SECRET_DOC)
        client.force_login(charlie.user)
        assert client.get(f"/documents/{document.pk}/").status_code == 404
        assert b"Nightjar" not in client.get("/documents/").content
