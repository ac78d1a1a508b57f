from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cleanroom.policies.models import ResidencyRule
from ingestion.models import Document
from tests.conftest import ingest

TEXT = b"Onboarding checklist.\n\nNew staff receive a badge on their first day from reception.\n"


@pytest.mark.django_db
class TestResidencyRule:
    def test_upload_refused_with_451_when_storage_region_not_allowed(self, alice, settings):
        ResidencyRule.objects.create(tenant=alice.tenant, storage_regions=["eu"], processing_regions=["eu"])
        settings.CLEANROOM_REGION = "in"
        response = alice.client().post(
            "/api/v1/documents", {"file": SimpleUploadedFile("a.txt", TEXT)}, format="multipart"
        )
        assert response.status_code == 451
        error = response.json()["error"]
        assert error["code"] == "storage_region_not_allowed"
        assert "residency rule" in error["message"]
        assert not Document.objects.exists()

    def test_query_refused_when_processing_region_not_allowed(self, alice, settings):
        ingest(alice, "a.txt", TEXT)
        ResidencyRule.objects.create(tenant=alice.tenant, processing_regions=["eu"])
        settings.CLEANROOM_REGION = alice.tenant.home_region  # storage fine, processing elsewhere only
        response = alice.client().post("/api/v1/query", {"question": "When do staff get a badge?"}, format="json")
        assert response.status_code == 451
        assert response.json()["error"]["code"] == "processing_region_not_allowed"

    def test_rule_entity_types_are_obeyed(self, alice):
        text = b"Badges are issued at desk 4 (badges@example.com) on 2 January 2026 in Pune."
        ResidencyRule.objects.create(tenant=alice.tenant, redact_entities=["DATE_TIME", "LOCATION"])
        document = ingest(alice, "a.txt", text)
        stored = document.chunks.get().text
        assert "2 January 2026" not in stored and "Pune" not in stored
        # This rule widened to dates and places and, deliberately, dropped e-mail addresses.
        assert "badges@example.com" in stored
        assert set(document.redaction_counts) == {"DATE_TIME", "LOCATION"}

    def test_default_rule_redacts_people_not_places(self, alice):
        document = ingest(alice, "a.txt", b"Badges are issued by Kavya Iyer on 2 January 2026 in Pune.")
        stored = document.chunks.get().text
        assert "Kavya" not in stored
        assert "2 January 2026" in stored and "Pune" in stored
