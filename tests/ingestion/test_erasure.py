from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from cleanroom.audit.models import AuditEvent
from cleanroom.audit.services import audit_verify
from cleanroom.policies.models import CustomRecognizer, EntityRule, PiiAction, ResidencyRule
from cleanroom.vault.models import ErasureReceipt, VaultEntry
from cleanroom.vault.services import identifier_scan
from ingestion.erasure import erasure_execute
from ingestion.leakscan import leakscan_run
from ingestion.models import Chunk, Document, ValueFinding
from ingestion.retention import retention_purge
from tests.conftest import ingest

TOKEN = re.compile(r"<PERSON_[0-9a-f]{8}>")
ABOUT_KAVYA = b"Minutes of the lab meeting.\n\nKavya Iyer approved the budget. Call her on +91 98765 43210 if needed."
ALSO_KAVYA = b"Travel desk.\n\nThe trip of Ms. Kavya Iyer to Pune is booked for March; phone 098765-43210."
ABOUT_RAVI = b"Facilities.\n\nRavi Shankar Rao fixed the air conditioning in room 4 on Tuesday."


def _pseudonymize_names(tenant) -> None:  # noqa: ANN001
    EntityRule.objects.create(tenant=tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)


def _everywhere(text: str) -> bool:
    """Is `text` in any chunk, document field, vault row or audit entry (a plain scan, independent of ours)?"""
    needle = text.lower()
    return (
        any(needle in c.lower() for c in Chunk.objects.values_list("text", flat=True))
        or any(needle in (t + f).lower() for t, f in Document.objects.values_list("title", "filename"))
        or any(needle in json.dumps(d).lower() for d in AuditEvent.objects.values_list("details", flat=True))
        or any(needle in json.dumps(r).lower() for r in ErasureReceipt.objects.values_list("receipt", flat=True))
    )


@pytest.mark.django_db
class TestErasure:
    def test_erasure_by_name_re_redacts_every_document_and_destroys_the_vault_entry(self, alice):
        _pseudonymize_names(alice.tenant)
        first = ingest(alice, "a.txt", ABOUT_KAVYA)
        second = ingest(alice, "b.txt", ALSO_KAVYA)
        ravi = ingest(alice, "c.txt", ABOUT_RAVI)
        token = TOKEN.findall(first.chunks.get().text)[0]
        assert token in second.chunks.get().text
        ravi_token = TOKEN.findall(ravi.chunks.get().text)[0]

        receipt = erasure_execute(tenant=alice.tenant, identifier="kavya iyer", actor=alice.user)

        assert receipt.verified and receipt.receipt["verification"]["clean"]
        assert set(receipt.receipt["documents_matched"]) == {str(first.pk), str(second.pk)}
        assert receipt.receipt["vault_entries_destroyed"] == 1
        for document in (first, second):
            text = document.chunks.get().text
            assert token not in text and "<PERSON>" in text
        assert ravi_token in ravi.chunks.get().text  # another person's pseudonym is untouched
        assert not VaultEntry.objects.filter(token=token).exists()
        assert VaultEntry.objects.filter(token=ravi_token).exists()
        assert not _everywhere(token) and not _everywhere("Kavya")
        event = AuditEvent.objects.get(action="erasure.completed")
        assert event.details["receipt_id"] == receipt.pk
        assert audit_verify().ok

    def test_erasure_by_phone_in_another_spelling_removes_documents_of_this_tenant_only(self, alice, charlie):
        first = ingest(alice, "a.txt", ABOUT_KAVYA)
        second = ingest(alice, "b.txt", ALSO_KAVYA)
        ravi = ingest(alice, "c.txt", ABOUT_RAVI)
        elsewhere = ingest(charlie, "d.txt", ABOUT_KAVYA)

        receipt = erasure_execute(tenant=alice.tenant, identifier="9876543210", actor=None, mode="remove")

        assert set(receipt.receipt["documents_removed"]) == {str(first.pk), str(second.pk)}
        assert not Document.objects.filter(pk__in=[first.pk, second.pk]).exists()
        assert Document.objects.filter(pk__in=[ravi.pk, elsewhere.pk]).count() == 2
        assert not ValueFinding.objects.filter(document_id__in=[first.pk, second.pk]).exists()
        assert receipt.verified
        assert ValueFinding.objects.filter(document=elsewhere, entity_type="PHONE_NUMBER").exists()

    def test_a_mention_that_slipped_through_is_found_verbatim_and_erased(self, alice):
        # A rule that leaves names in (a leak, seen from erasure's side): no keyed hash for the name exists.
        ResidencyRule.objects.create(tenant=alice.tenant, redact_entities=["EMAIL_ADDRESS"])
        document = ingest(alice, "a.txt", ABOUT_RAVI)
        assert "Ravi Shankar Rao" in document.chunks.get().text
        receipt = erasure_execute(tenant=alice.tenant, identifier="ravi  shankar rao", actor=None)
        assert receipt.receipt["documents_matched"] == [str(document.pk)]
        assert "<ERASED>" in document.chunks.get().text and not _everywhere("Shankar")
        assert receipt.verified

    def test_verification_scan_reports_what_remains(self, alice):
        ResidencyRule.objects.create(tenant=alice.tenant, redact_entities=["EMAIL_ADDRESS"])
        document = ingest(alice, "a.txt", ABOUT_RAVI)
        hits = identifier_scan(tenant=alice.tenant, identifier="Ravi Shankar Rao", hashes=set(), tokens=set())
        chunk = document.chunks.get()
        assert [(h.table, h.column, h.rows, h.row_ids) for h in hits] == [
            (Chunk._meta.db_table, "text", 1, [str(chunk.pk)])
        ]

    def test_a_name_inside_a_longer_detection_is_erased_and_the_receipt_tells_the_truth(self, alice):
        """The finding: the detected value "Contact Meera Pillai" was not matched by the identifier "Meera Pillai"
        (0 documents, 0 vault entries) and the receipt still said clean."""
        CustomRecognizer.objects.create(
            tenant=alice.tenant,
            label="CONTACT",
            pattern=r"Contact [A-Z][a-z]+ [A-Z][a-z]+",
            action=PiiAction.PSEUDONYMIZE,
        )
        document = ingest(alice, "visa.txt", b"Visa desk.\n\nFor the forms, Contact Meera Pillai at the front office.")
        token = re.findall(r"<CONTACT_[0-9a-f]{8}>", document.chunks.get().text)
        assert token and VaultEntry.objects.filter(token=token[0]).exists()

        receipt = erasure_execute(tenant=alice.tenant, identifier="Dr. Meera Pillai", actor=None)

        assert receipt.receipt["documents_matched"] == [str(document.pk)]
        assert receipt.receipt["vault_entries_destroyed"] == 1 and receipt.receipt["pseudonyms_replaced"] == 1
        assert token[0] not in document.chunks.get().text and "<CONTACT>" in document.chunks.get().text
        assert receipt.verified and receipt.receipt["verification"]["clean"]

    def test_a_vault_value_erasure_could_not_reach_makes_the_receipt_not_clean(self, alice):
        CustomRecognizer.objects.create(
            tenant=alice.tenant, label="CONTACT", pattern=r"Contact [A-Z][a-z]+ [A-Z][a-z]+", action="pseudonymize"
        )
        ingest(alice, "visa.txt", b"Visa desk.\n\nFor the forms, Contact Meera Pillai at the front office.")
        ValueFinding.objects.update(part_hashes=[])  # as indexed before part hashes were recorded
        entry = VaultEntry.objects.get(tenant=alice.tenant)

        receipt = erasure_execute(tenant=alice.tenant, identifier="Meera Pillai", actor=None)

        assert not receipt.verified and not receipt.receipt["verification"]["clean"]
        hits = receipt.receipt["verification"]["hits"]
        assert {"table": "vault_vaultentry", "column": "ciphertext", "rows": 1, "row_ids": [str(entry.pk)]} in hits
        assert "Meera" not in json.dumps(receipt.receipt) and "Pillai" not in json.dumps(receipt.receipt)

    def test_erase_command_prints_a_receipt_and_admin_runs_it_too(self, alice, capsys):
        _pseudonymize_names(alice.tenant)
        ingest(alice, "a.txt", ABOUT_KAVYA)
        call_command("erase", "--tenant", alice.tenant.slug, "--identifier", "Kavya Iyer")
        printed = json.loads(capsys.readouterr().out)
        assert printed["verification"]["clean"] and printed["vault_entries_destroyed"] == 1
        assert "Kavya" not in json.dumps(printed)
        with pytest.raises(CommandError, match="No tenant"):
            call_command("erase", "--tenant", "nope", "--identifier", "x@example.com")

        ingest(alice, "b.txt", ALSO_KAVYA)
        client = Client()
        client.force_login(User.objects.create_superuser("root", password="pw-123456789"))
        form = {"tenant": alice.tenant.pk, "identifier": "+91 98765 43210", "mode": "remove"}
        asked = client.post("/admin/vault/erasurereceipt/add/", form)
        assert asked.status_code == 200 and b"This would delete 2 document(s)" in asked.content
        assert (
            Document.objects.filter(tenant=alice.tenant).count() == 2
            and not ErasureReceipt.objects.filter(mode="remove").exists()
        )
        response = client.post("/admin/vault/erasurereceipt/add/", {**form, "confirm_remove": "on"})
        assert response.status_code == 302
        receipt = ErasureReceipt.objects.order_by("-pk").first()
        # Both documents named the phone number (the first still does after its name was erased).
        assert receipt.mode == "remove" and receipt.verified and len(receipt.receipt["documents_removed"]) == 2
        assert not Document.objects.filter(tenant=alice.tenant).exists()
        page = client.get(f"/admin/vault/erasurereceipt/{receipt.pk}/change/")
        assert page.status_code == 200 and "98765" not in page.content.decode()

    def test_dry_run_changes_nothing_and_says_what_would(self, alice, capsys):
        _pseudonymize_names(alice.tenant)
        first = ingest(alice, "a.txt", ABOUT_KAVYA)
        ingest(alice, "c.txt", ABOUT_RAVI)
        before = first.chunks.get().text
        call_command("erase", "--tenant", alice.tenant.slug, "--identifier", "Kavya Iyer", "--dry-run")
        plan = json.loads(capsys.readouterr().out)
        assert plan["dry_run"] and plan["documents_matched"] == [str(first.pk)]
        assert plan["chunks_to_rewrite"] == [first.chunks.get().pk] and plan["vault_entries_to_destroy"] == 1
        assert first.chunks.get().text == before and VaultEntry.objects.count() == 2
        assert not ErasureReceipt.objects.exists() and "Kavya" not in json.dumps(plan)
        assert AuditEvent.objects.filter(action="erasure.previewed").count() == 1

    def test_remove_asks_for_confirmation_unless_yes(self, alice, capsys):
        first = ingest(alice, "a.txt", ABOUT_KAVYA)
        args = ["erase", "--tenant", alice.tenant.slug, "--identifier", "kavya@example.com", "--mode", "remove"]
        ingest(alice, "b.txt", b"Policy. Travel is booked by the desk. Questions: kavya@example.com.")
        with pytest.raises(CommandError, match=r"would delete 1 document\(s\); run again with --yes"):
            call_command(*args)  # not a terminal: nothing is asked, nothing removed
        assert Document.objects.filter(tenant=alice.tenant).count() == 2
        capsys.readouterr()
        call_command(*args, "--yes")
        assert Document.objects.filter(tenant=alice.tenant).count() == 1 and Document.objects.filter(pk=first.pk)


@pytest.mark.django_db
class TestRetentionAndLeakScan:
    def test_retention_purges_expired_documents_and_audits_each(self, alice, charlie):
        ResidencyRule.objects.create(tenant=alice.tenant, retention_days=30)
        old = ingest(alice, "old.txt", ABOUT_RAVI)
        new = ingest(alice, "new.txt", ABOUT_RAVI + b" Revised in March.")  # other bytes: not a duplicate
        untouched = ingest(charlie, "old.txt", ABOUT_RAVI)  # no retention rule
        Document.objects.filter(pk__in=[old.pk, untouched.pk]).update(created_at=timezone.now() - timedelta(days=31))
        assert retention_purge() == [str(old.pk)]
        assert set(Document.objects.values_list("pk", flat=True)) == {new.pk, untouched.pk}
        event = AuditEvent.objects.get(action="retention.purged")
        assert event.details["document_id"] == str(old.pk) and event.details["retention_days"] == 30

    def test_leak_scan_finds_what_a_lax_threshold_let_through_without_printing_it(self, alice, capsys):
        # A lax threshold, and what only the stricter second pass finds allowed: names pass ingestion.
        EntityRule.objects.create(tenant=alice.tenant, entity_type="PERSON", threshold=0.99, uncertain="allow")
        document = ingest(alice, "a.txt", ABOUT_RAVI)
        assert "Ravi" in document.chunks.get().text
        leaks = leakscan_run(tenant=alice.tenant)
        assert any(leak.entity_type == "PERSON" and leak.chunk_id == document.chunks.get().pk for leak in leaks)
        with pytest.raises(CommandError, match="possible leak"):
            call_command("leakscan", "--tenant", alice.tenant.slug)
        out = capsys.readouterr().out
        assert "PERSON" in out and "Ravi" not in out
        event = AuditEvent.objects.filter(action="leakscan.completed").last()
        assert event.details["counts"]["PERSON"] >= 1 and "Ravi" not in json.dumps(event.details)

    def test_leak_scan_of_a_clean_tenant_reports_nothing(self, alice, capsys):
        _pseudonymize_names(alice.tenant)
        ingest(alice, "a.txt", ABOUT_KAVYA)
        call_command("leakscan", "--tenant", alice.tenant.slug)
        assert "no personal data found" in capsys.readouterr().out
