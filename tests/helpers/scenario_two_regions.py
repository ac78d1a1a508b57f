"""Run by tests/core/test_regions.py in a child pytest whose settings have two region stores, each a real embedded
PostgreSQL: "in" is the default database, "eu" a second server (CLEANROOM_REGIONS). Not collected on its own."""

from __future__ import annotations

import socket

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connections

from cleanroom.policies.models import EntityRule, PiiAction, ResidencyRule
from cleanroom.routing import tenant_scope
from ingestion.models import Document
from retrieval.llm import backends_reset
from tests.conftest import ingest

pytestmark = pytest.mark.django_db(databases=["default", "region_eu"])

MEMO = b"Lab minutes.\n\nKavya Iyer approved the budget for the new microscope; it arrives in March.\n"


def _count(alias: str, table: str, tenant_id: int) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
        return cursor.fetchone()[0]


def test_settings_have_two_stores_on_two_servers():
    assert settings.CLEANROOM_REGIONS.keys() == {"in", "eu"}
    assert settings.DATABASES["default"]["HOST"] != settings.DATABASES["region_eu"]["HOST"]


def test_each_tenants_rows_live_only_in_its_regions_store(alice, charlie):
    ResidencyRule.objects.create(tenant=charlie.tenant, storage_regions=["eu"], processing_regions=["in"])
    for actor in (alice, charlie):
        EntityRule.objects.create(tenant=actor.tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)
        with tenant_scope(actor.tenant):
            document = ingest(actor, "memo.txt", MEMO)
            assert document.status == Document.Status.INDEXED, document.error_message
    # Through the API too: the token's tenant decides the store.
    # The same bytes again are recognised in the eu store; other bytes are a new document there.
    response = charlie.client().post(
        "/api/v1/documents", {"file": SimpleUploadedFile("b.txt", MEMO)}, format="multipart"
    )
    assert response.status_code == 200 and response.json()["duplicate"] is True
    response = charlie.client().post(
        "/api/v1/documents", {"file": SimpleUploadedFile("b.txt", MEMO + b" A second copy.")}, format="multipart"
    )
    assert response.status_code == 202
    listed = charlie.client().get("/api/v1/documents").json()
    assert len(listed["results"]) == 2

    a, b = alice.tenant.pk, charlie.tenant.pk
    tables = (
        "ingestion_document",
        "ingestion_chunk",
        "vault_vaultentry",
        "ingestion_valuefinding",
        "retrieval_chunkterms",
    )
    for table in tables:
        assert _count("default", table, a) >= 1 and _count("region_eu", table, a) == 0, table
        assert _count("region_eu", table, b) >= 1 and _count("default", table, b) == 0, table
    # Tenants, users and the audit trail stay in the control plane: none in the region store.
    with connections["region_eu"].cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM tenants_tenant), (SELECT count(*) FROM auth_user)")
        assert cursor.fetchone() == (0, 0)
        cursor.execute("SELECT to_regclass('audit_auditevent'), to_regclass('policies_residencyrule')")
        assert cursor.fetchone() == (None, None)
    # Charlie's chunks are searched in the eu store.
    response = charlie.client().post("/api/v1/query", {"question": "What did the budget cover?"}, format="json")
    assert response.status_code == 200


def test_upload_with_no_allowed_store_is_refused_and_writes_nothing(alice):
    ResidencyRule.objects.create(tenant=alice.tenant, storage_regions=["us"], processing_regions=["in"])
    response = alice.client().post("/api/v1/documents", {"file": SimpleUploadedFile("a.txt", MEMO)}, format="multipart")
    assert response.status_code == 451
    assert "residency rule" in response.json()["error"]["message"]
    assert _count("default", "ingestion_document", alice.tenant.pk) == 0
    assert _count("region_eu", "ingestion_document", alice.tenant.pk) == 0


def test_a_backend_in_a_disallowed_region_is_never_called(alice, settings):
    with tenant_scope(alice.tenant):
        ingest(alice, "memo.txt", MEMO)
    ResidencyRule.objects.create(tenant=alice.tenant, storage_regions=["in"], processing_regions=["in"])
    # An OpenAI-compatible server in region "eu": a real listening socket that counts who connects to it.
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    settings.LLM_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    settings.LLM_URL_MODEL = "eu-model"
    settings.LLM_URL_REGION = "eu"
    backends_reset()
    try:
        response = alice.client().post(
            "/api/v1/query", {"question": "Who approved the microscope budget?"}, format="json"
        )
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody ever connected: the passages never left for "eu"
    finally:
        listener.close()
        backends_reset()
    assert response.status_code == 451
    assert response.json()["error"]["code"] == "processing_region_not_allowed"
    assert "residency rule" in response.json()["error"]["message"]


def test_migrate_regions_brings_every_region_store_up_to_date(capsys):
    call_command("migrate_regions")
    assert "Migrated region store region_eu" in capsys.readouterr().out
    assert "region_eu" in settings.DATABASES and "region_in" not in settings.DATABASES  # "in" is the default db


def test_the_region_store_is_under_row_level_security_too(alice, charlie):
    from cleanroom import rls

    ResidencyRule.objects.create(tenant=charlie.tenant, storage_regions=["eu"], processing_regions=["in"])
    with tenant_scope(charlie.tenant):
        assert ingest(charlie, "memo.txt", MEMO).status == Document.Status.INDEXED
    with connections["region_eu"].cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (settings.RLS_ROLE, False)
    # Unfiltered queries on the eu store: the database shows each tenant its own rows only.
    with rls.tenant_scope(alice.tenant):
        assert Document.objects.using("region_eu").count() == 0
    with rls.tenant_scope(charlie.tenant):
        assert Document.objects.using("region_eu").count() == 1
