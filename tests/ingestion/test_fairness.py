"""Fairness between tenants: one tenant's backlog does not make another's document wait behind all of it."""

from __future__ import annotations

import pytest

from ingestion.models import Document
from ingestion.tasks import process_document
from tests.conftest import upload


def _text(n: int) -> bytes:
    return f"Meeting note {n}. The canteen opens at {n % 12 + 1} and the library closes at {n % 5 + 17}.\n".encode()


@pytest.mark.django_db
def test_a_backlog_of_one_tenant_does_not_starve_another(alice, charlie, settings):
    settings.INGEST_BATCH_DOCUMENTS = 2
    backlog = [upload(alice, f"a{n}.txt", _text(n)) for n in range(6)]
    single = upload(charlie, "b.txt", _text(100))
    # The broker delivers the messages in upload order: A's six, then B's one.
    process_document(str(backlog[0].pk))  # A's first batch (a0, a1): no tenant has been served yet
    process_document(str(backlog[1].pk))  # its document is done; B has never been served: B's turn
    single.refresh_from_db()
    assert single.status == Document.Status.INDEXED, single.error_message
    assert Document.objects.filter(tenant=alice.tenant, status=Document.Status.INDEXED).count() == 2
    for document in backlog[2:]:
        process_document(str(document.pk))
    process_document(str(single.pk))
    # Every document indexed exactly once, whatever message did it.
    statuses = set(Document.objects.values_list("status", flat=True))
    assert statuses == {Document.Status.INDEXED}
    for document in [*backlog, single]:
        document.refresh_from_db()
        assert sum(1 for step in document.steps if step["status"] == "indexed") == 1


@pytest.mark.django_db
def test_a_message_whose_tenant_has_its_turn_takes_its_own_document(alice):
    first, second = upload(alice, "a.txt", _text(1)), upload(alice, "b.txt", _text(2))
    process_document(str(second.pk))
    second.refresh_from_db()
    assert second.status == Document.Status.INDEXED
    first.refresh_from_db()
    assert first.status == Document.Status.INDEXED  # the same batch: the tenant's queued documents, oldest first
