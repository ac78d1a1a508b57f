from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from cleanroom.audit.models import AuditEvent
from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES
from cleanroom.policies.models import ResidencyRule
from cleanroom.regions import region_stores
from tests.conftest import ingest

HOME = settings.CLEANROOM_REGION  # the one region with a store in the test deployment


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
                "storage_regions": [HOME],
                "processing_regions": [HOME],
                "redact_entities": ["PERSON", "IN_AADHAAR"],
                "confirm_weaker": "on",
            },
        )
        assert response.status_code == 302, response.content[:2000]
        rule = ResidencyRule.objects.get(tenant=alice.tenant)
        assert rule.storage_regions == [HOME] and rule.redact_entities == ["PERSON", "IN_AADHAAR"]
        event = AuditEvent.objects.get(action="policy.created")
        assert event.details["redact_entities"] == ["PERSON", "IN_AADHAAR"]

    def test_a_new_rule_starts_from_the_default_policy(self, staff_client, alice):
        page = staff_client.get("/admin/policies/residencyrule/add/").content.decode()
        for name in DEFAULT_REDACT_ENTITIES:
            assert re.search(rf'<input[^>]*value="{name}"[^>]*checked', page), name
        assert not re.search(r'<input[^>]*value="LOCATION"[^>]*checked', page)

    def test_a_rule_that_only_sets_a_region_keeps_redacting(self, staff_client, alice):
        """The finding: a region-only rule saved from the add form used to index names verbatim."""
        form = {"tenant": alice.tenant.pk, "storage_regions": [HOME], "processing_regions": [HOME]}
        refused = staff_client.post("/admin/policies/residencyrule/add/", form)
        assert refused.status_code == 200 and not ResidencyRule.objects.exists()
        assert b"verbatim" in refused.content and b"Person names" in refused.content
        saved = staff_client.post(
            "/admin/policies/residencyrule/add/", {**form, "redact_entities": list(DEFAULT_REDACT_ENTITIES)}
        )
        assert saved.status_code == 302
        assert AuditEvent.objects.get(action="policy.created").details["weaker_than_default"] == []
        document = ingest(alice, "memo.txt", b"Memo. Kavya Iyer (kavya@example.com, +91 98765 43210) approved it.")
        text = document.chunks.get().text
        assert "Kavya" not in text and "kavya@" not in text and "98765" not in text

    def test_redacting_less_than_the_default_needs_a_confirmation_and_is_audited(self, staff_client, alice):
        form = {"tenant": alice.tenant.pk, "storage_regions": [HOME], "redact_entities": ["IN_AADHAAR"]}
        assert staff_client.post("/admin/policies/residencyrule/add/", form).status_code == 200
        response = staff_client.post(
            "/admin/policies/residencyrule/add/", {**form, "confirm_weaker": "on"}, follow=True
        )
        assert response.status_code == 200 and b"redacts less than the default policy" in response.content
        weaker = AuditEvent.objects.get(action="policy.created").details["weaker_than_default"]
        assert "PERSON" in weaker and "EMAIL_ADDRESS" in weaker and "IN_AADHAAR" not in weaker

    def test_a_region_without_a_store_is_refused_with_a_message(self, staff_client, alice, settings):
        assert "eu" in settings.KNOWN_REGIONS and "eu" not in region_stores()
        response = staff_client.post(
            "/admin/policies/residencyrule/add/",
            {"tenant": alice.tenant.pk, "storage_regions": ["eu"], "redact_entities": list(DEFAULT_REDACT_ENTITIES)},
        )
        assert response.status_code == 200
        assert b"No store is configured for region(s) eu" in response.content
        assert not ResidencyRule.objects.exists()

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
