"""Row-level security as the second line (cleanroom/rls.py): an ORM query that forgets its tenant filter still gets
only the current tenant's rows, a request whose tenant is not resolved reads nothing, and the service's role can
neither bypass nor switch off the policies."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory

from cleanroom import rls
from cleanroom.audit.models import AuditEvent
from cleanroom.audit.services import audit_record, audit_verify
from cleanroom.routing import RegionScopeMiddleware, tenant_scope
from ingestion.models import Chunk, Document
from retrieval.models import Conversation
from tests.conftest import ingest

A_DOC = b"The Nightjar programme has a budget of 4.2 million euros for 2026.\n"
B_DOC = b"The canteen opens at 8 and serves lunch until 14.\n"


def _tenant_tables() -> list[str]:
    """Every table with a tenant column, found from the models, so that a new one is covered or fails here."""
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if any(field.name == "tenant" for field in model._meta.fields) and model._meta.app_label != "tenants"
    )


@pytest.mark.django_db
def test_the_service_connects_as_a_role_that_is_neither_owner_nor_superuser():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        user, superuser, bypass = cursor.fetchone()
        assert (superuser, bypass) == (False, False)
        for table in _tenant_tables():
            cursor.execute(
                "SELECT pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity FROM pg_class"
                " WHERE relname = %s",
                [table],
            )
            owner, enabled, forced = cursor.fetchone()
            assert owner != user, table
            assert enabled and forced, f"{table} has no forced row-level security"
            cursor.execute("SELECT count(*) FROM pg_policies WHERE tablename = %s", [table])
            assert cursor.fetchone()[0] >= 1, f"{table} has no policy"
        # The role may not turn the line off.
        with pytest.raises(DatabaseError), transaction.atomic():
            cursor.execute(f'ALTER TABLE "{_tenant_tables()[0]}" DISABLE ROW LEVEL SECURITY')


@pytest.mark.django_db
def test_an_unscoped_query_gets_only_the_current_tenants_rows(alice, charlie):
    mine = ingest(alice, "nightjar.txt", A_DOC)
    theirs = ingest(charlie, "canteen.txt", B_DOC)
    with rls.system_scope():
        assert Document.objects.count() == 2  # what a missed filter would have returned
    with tenant_scope(alice.tenant):
        # Deliberately no tenant filter: the database applies it.
        assert list(Document.objects.values_list("pk", flat=True)) == [mine.pk]
        assert set(Chunk.objects.values_list("document_id", flat=True)) == {mine.pk}
        assert not Document.objects.filter(pk=theirs.pk).exists()
        assert Document.objects.filter(pk=theirs.pk).update(title="taken") == 0
        assert Document.objects.filter(pk=theirs.pk).delete()[0] == 0
        # Nor can it write a row for another tenant.
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Conversation.objects.create(tenant=charlie.tenant, user=alice.user, title="smuggled")
        # Its own audit trail only.
        assert set(AuditEvent.objects.values_list("tenant_id", flat=True)) <= {alice.tenant.pk}
    theirs.refresh_from_db()
    assert theirs.title != "taken"


@pytest.mark.django_db
def test_a_request_with_no_tenant_set_reads_nothing(alice, charlie):
    ingest(alice, "nightjar.txt", A_DOC)
    ingest(charlie, "canteen.txt", B_DOC)
    seen: dict[str, int] = {}

    def view(request: HttpRequest) -> HttpResponse:
        # A view that forgot to resolve its tenant (and to filter): the database shows it nothing.
        seen["documents"] = Document.objects.count()
        seen["chunks"] = Chunk.objects.count()
        seen["audit"] = AuditEvent.objects.count()
        return JsonResponse({})

    RegionScopeMiddleware(view)(RequestFactory().get("/"))
    assert seen == {"documents": 0, "chunks": 0, "audit": 0}
    # After the request the connection is back in the scope it had.
    with rls.system_scope():
        assert Document.objects.count() == 2


@pytest.mark.django_db
def test_the_api_resolves_the_tenant_and_sees_its_rows_only(alice, charlie):
    mine = ingest(alice, "nightjar.txt", A_DOC)
    ingest(charlie, "canteen.txt", B_DOC)
    listing = alice.client().get("/api/v1/documents").json()
    assert [d["id"] for d in listing["results"]] == [str(mine.pk)]


@pytest.mark.django_db
def test_the_audit_chain_spans_tenants_whatever_the_scope(alice, charlie):
    with tenant_scope(alice.tenant):
        audit_record(tenant=alice.tenant, actor=alice.user, action="test.one")
    with tenant_scope(charlie.tenant):
        audit_record(tenant=charlie.tenant, actor=charlie.user, action="test.two")
    with tenant_scope(alice.tenant):
        audit_record(tenant=alice.tenant, actor=alice.user, action="test.three")
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_replaced_not_a_500(alice):
    from django.db import connections

    client = alice.client()
    assert client.get("/api/v1/documents").status_code == 200
    pid = connection.connection.info.backend_pid
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("RESET ROLE")  # as the owner, who may end the service's sessions (a restart does)
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    # The next request finds its connection gone while setting its scope: a fresh one, correctly scoped.
    response = client.get("/api/v1/documents")
    assert response.status_code == 200, response.content
    assert connection.connection.info.backend_pid != pid
