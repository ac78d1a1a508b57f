from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from cleanroom.audit.models import AuditEvent
from cleanroom.audit.services import audit_record, audit_verify
from retrieval.replay import answer_replay
from retrieval.services import question_answer
from tests.conftest import ingest


def _tamper_as_superuser() -> None:
    """What an attacker with the database owner's rights could do: switch off the append-only trigger (inside the
    test's transaction, so it and the owner's role come back with the rollback). The service's own role may not."""
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")  # from the service's role (cleanroom/rls.py) to the owner's
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while deferred checks are pending
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_append_only")


@pytest.mark.django_db
class TestAuditChain:
    def _three(self, alice):
        for i in range(3):
            audit_record(tenant=alice.tenant, actor=alice.user, action="test.event", details={"n": i})

    def test_intact_chain_verifies(self, alice, capsys):
        self._three(alice)
        assert audit_verify().ok
        call_command("audit", "verify")
        assert "intact" in capsys.readouterr().out

    def test_edited_entry_is_detected(self, alice):
        self._three(alice)
        middle = AuditEvent.objects.order_by("id")[1]
        _tamper_as_superuser()
        AuditEvent.objects.filter(pk=middle.pk).update(details={"n": 99})
        report = audit_verify()
        assert not report.ok and any("edited" in p for p in report.problems)
        with pytest.raises(CommandError):
            call_command("audit", "verify")

    def test_deleted_entry_is_detected(self, alice):
        self._three(alice)
        _tamper_as_superuser()
        AuditEvent.objects.order_by("id")[1].delete()
        report = audit_verify()
        assert not report.ok and any("chain is broken" in p for p in report.problems)

    def test_database_refuses_to_edit_or_delete_an_entry(self, alice):
        self._three(alice)
        first = AuditEvent.objects.order_by("id").first()
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=first.pk).update(details={"n": 99})
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=first.pk).delete()
        assert audit_verify().ok

    def test_deleting_a_tenant_keeps_its_entries(self, alice, charlie):
        audit_record(tenant=charlie.tenant, actor=charlie.user, action="test.event")
        charlie.tenant.delete()  # the ORM clears tenant_id on its entries: the one change the trigger allows
        assert AuditEvent.objects.filter(tenant_slug="tenant-b", tenant__isnull=True).exists()
        assert audit_verify().ok


REMOTE_POLICY = (
    b"Remote work policy.\n\nEmployees may work remotely up to three days per week. Remote work from abroad "
    b"requires written approval from the HR department and is limited to 30 days per year.\n"
)


@pytest.mark.django_db
class TestReplay:
    def test_an_answer_replays_to_the_same_text_from_its_audit_entry(self, alice, capsys):
        ingest(alice, "remote.txt", REMOTE_POLICY)
        answer = question_answer(
            tenant=alice.tenant, user=alice.user, question="How many days per week can I work remotely?", top_k=3
        )
        event = AuditEvent.objects.filter(action="query.answered").last()
        assert event.details["output_sha256"] and event.details["prompt_sha256"]
        result = answer_replay(event_id=event.pk)
        assert result.identical and result.prompt_identical and result.model_identical
        if not answer.abstained:
            assert result.answer == answer.answer
        call_command("audit", "replay", str(event.pk))
        assert "identical answer" in capsys.readouterr().out
        assert AuditEvent.objects.filter(action="query.replayed").count() == 2
        assert audit_verify().ok

    def test_replay_refuses_when_a_chunk_was_erased(self, alice):
        document = ingest(alice, "remote.txt", REMOTE_POLICY)
        question_answer(tenant=alice.tenant, user=alice.user, question="How many remote days per week?", top_k=3)
        event = AuditEvent.objects.filter(action="query.answered").last()
        document.delete()
        with pytest.raises(CommandError, match="no longer exist"):
            call_command("audit", "replay", str(event.pk))
