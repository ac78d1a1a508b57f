from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from cleanroom.audit.models import AuditEvent
from cleanroom.policies.models import ResidencyRule
from tests.conftest import ingest


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_superuser("root-admin", "admin@example.com", "pw-for-tests-1")
    client.force_login(user)
    return client


@pytest.mark.django_db
class TestAdmin:
    @pytest.mark.parametrize(
        "url",
        [
            "/admin/",
            "/admin/tenants/tenant/",
            "/admin/tenants/tenant/add/",
            "/admin/tenants/membership/",
            "/admin/tenants/apitoken/",
            "/admin/policies/residencyrule/",
            "/admin/policies/residencyrule/add/",
            "/admin/ingestion/document/",
            "/admin/ingestion/chunk/",
            "/admin/audit/auditevent/",
        ],
    )
    def test_admin_pages_render(self, staff_client, alice, url):
        assert staff_client.get(url).status_code == 200

    def test_document_admin_shows_read_only_chunks(self, staff_client, alice):
        document = ingest(alice, "a.txt", b"Fire drills happen every quarter on the first Monday.")
        page = staff_client.get(f"/admin/ingestion/document/{document.pk}/change/")
        assert page.status_code == 200
        assert b"Fire drills happen" in page.content
        assert b'name="chunks-0-text"' not in page.content  # shown, not editable

    def test_residency_rule_is_edited_with_checkboxes_and_audited(self, staff_client, alice):
        response = staff_client.post(
            "/admin/policies/residencyrule/add/",
            {
                "tenant": alice.tenant.pk,
                "storage_regions": ["in"],
                "processing_regions": ["in"],
                "redact_entities": ["PERSON", "IN_AADHAAR"],
            },
        )
        assert response.status_code == 302, response.content[:2000]
        rule = ResidencyRule.objects.get(tenant=alice.tenant)
        assert rule.storage_regions == ["in"] and rule.redact_entities == ["PERSON", "IN_AADHAAR"]
        event = AuditEvent.objects.get(action="policy.created")
        assert event.details["redact_entities"] == ["PERSON", "IN_AADHAAR"]

    def test_unknown_region_is_rejected_with_a_message(self, staff_client, alice):
        response = staff_client.post(
            "/admin/policies/residencyrule/add/",
            {"tenant": alice.tenant.pk, "storage_regions": ["mars"], "redact_entities": ["PERSON"]},
        )
        assert response.status_code == 200
        assert b"not one of the available choices" in response.content
        assert not ResidencyRule.objects.exists()

    def test_audit_trail_cannot_be_edited_in_admin(self, staff_client, alice):
        ingest(alice, "a.txt", b"Fire drills happen every quarter.")
        event = AuditEvent.objects.first()
        page = staff_client.get(f"/admin/audit/auditevent/{event.pk}/change/")
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        assert staff_client.post(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_health_reports_pgvector(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["pgvector"]


@pytest.mark.django_db
def test_openapi_schema_is_served():
    response = APIClient().get("/api/v1/schema")
    assert response.status_code == 200
    assert b"/api/v1/query" in response.content and b"/api/v1/documents" in response.content
