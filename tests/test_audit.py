from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cleanroom.audit.models import AuditEvent
from cleanroom.audit.services import audit_record, audit_verify


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
        AuditEvent.objects.filter(pk=middle.pk).update(details={"n": 99})
        report = audit_verify()
        assert not report.ok and any("edited" in p for p in report.problems)
        with pytest.raises(CommandError):
            call_command("audit", "verify")

    def test_deleted_entry_is_detected(self, alice):
        self._three(alice)
        AuditEvent.objects.order_by("id")[1].delete()
        report = audit_verify()
        assert not report.ok and any("chain is broken" in p for p in report.problems)
