from __future__ import annotations

import html
import random
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from cleanroom.audit.models import AuditEvent
from cleanroom.errors import ServiceError
from cleanroom.pii.policy import (
    PiiPolicy,
    Recognizer,
    apply_policy,
    custom_spans,
    identifier_hashes,
    mask,
    normalise_value,
    select_spans,
    value_hash,
)
from cleanroom.pii.redaction import Span
from cleanroom.policies.models import AllowTerm, CustomRecognizer, EntityRule, PiiAction
from cleanroom.redaction import pii_redact_text
from cleanroom.tenants.models import Role
from cleanroom.tenants.services import tenant_bootstrap
from cleanroom.vault.models import VaultEntry
from cleanroom.vault.services import vault_reveal
from ingestion.models import Chunk, Document, ValueFinding
from ingestion.pipeline import document_process
from tests.conftest import ingest, upload
from tests.helpers.samples import aadhaar

KEY = b"k" * 32
TOKEN = re.compile(r"<PERSON_[0-9a-f]{8}>")


def _policy(**kwargs) -> PiiPolicy:  # noqa: ANN003
    base = {"tenant_id": 1, "rule_id": None, "treatments": {}, "allow_terms": frozenset(), "recognizers": ()}
    return PiiPolicy(**{**base, **kwargs})


# --- Pure -------------------------------------------------------------------------------------------------------


def test_mask_keeps_separators_and_last_four_of_long_values():
    assert mask("4111 1111 1111 1234") == "**** **** **** 1234"
    assert mask("ab@c.in") == "**@*.**"


@pytest.mark.parametrize(
    ("entity_type", "a", "b"),
    [
        ("EMAIL_ADDRESS", "Kavya.Iyer@Example.com", "kavya.iyer@example.com "),
        ("PHONE_NUMBER", "+91 98765 43210", "098765-43210"),
        ("IN_AADHAAR", "2345 6789 0123", "234567890123"),
        ("PERSON", "Dr. Kavya  Iyer", "kavya iyer"),
        ("IN_PAN", "abcde1234f", "ABCDE 1234 F"),
    ],
)
def test_two_spellings_of_one_identifier_hash_alike(entity_type, a, b):
    assert value_hash(KEY, entity_type, a) == value_hash(KEY, entity_type, b)
    assert value_hash(KEY, entity_type, a) in identifier_hashes(KEY, b)


def test_hashes_depend_on_the_tenant_key():
    assert value_hash(KEY, "PERSON", "Kavya Iyer") != value_hash(b"x" * 32, "PERSON", "Kavya Iyer")
    assert normalise_value("PHONE_NUMBER", "+91 98765 43210") == ("phone", "9876543210")


def test_pseudonyms_are_stable_and_distinct_and_allow_list_and_custom_recognizers_apply():
    policy = _policy(
        treatments={"PERSON": _treat("pseudonymize")},
        allow_terms=frozenset({"acme labs"}),
        recognizers=(Recognizer("EMPLOYEE_ID", r"\bEMP-\d{6}\b", "redact"),),
    )
    text = "Kavya Iyer (EMP-123456) met Ravi Rao and Kavya Iyer at ACME  Labs."

    def at(value: str, start: int = 0) -> Span:
        i = text.index(value, start)
        return Span(i, i + len(value), "PERSON", 0.85)

    spans = [at("Kavya Iyer"), at("Ravi Rao"), at("Kavya Iyer", 5)]
    spans.append(at("ACME  Labs"))  # a company tagged as a name: allow-listed
    spans += custom_spans(text, policy.recognizers)
    applied = apply_policy(text, select_spans(text, spans, policy), policy, key=KEY)
    tokens = TOKEN.findall(applied.text)
    assert len(tokens) == 3 and tokens[0] == tokens[2] != tokens[1]
    assert "<EMPLOYEE_ID>" in applied.text and "ACME  Labs" in applied.text
    assert applied.counts == {"PERSON": 3, "EMPLOYEE_ID": 1}
    assert {f.token for f in applied.findings if f.token} == set(tokens)


def test_threshold_drops_weak_matches_and_placeholders_are_never_redetected():
    policy = _policy(treatments={"PERSON": _treat("redact", 0.9)})
    text = "<PERSON_0123abcd> spoke to Kavya Iyer."
    spans = [Span(1, 16, "PERSON", 0.95), Span(27, 37, "PERSON", 0.85)]
    assert select_spans(text, spans, policy) == []


def _treat(action: str, threshold: float = 0.4):  # noqa: ANN202
    from cleanroom.pii.policy import EntityTreatment

    return EntityTreatment(action, threshold)


# --- With the database, the detector and the pipeline -----------------------------------------------------------

MEMO = (
    "Incident report.\n\nKavya Iyer (kavya.iyer@example.com, +91 98765 43210) reported the outage at 09:00. "
    "Employee EMP-204311 restarted the router. Kavya Iyer confirmed the fix.\n"
)


@pytest.mark.django_db
class TestPolicyInThePipeline:
    def test_actions_per_entity_type_custom_recognizer_and_manifest(self, alice):
        EntityRule.objects.create(tenant=alice.tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)
        EntityRule.objects.create(tenant=alice.tenant, entity_type="EMAIL_ADDRESS", action=PiiAction.MASK)
        CustomRecognizer.objects.create(tenant=alice.tenant, label="EMPLOYEE_ID", pattern=r"\bEMP-\d{6}\b")
        document = ingest(alice, "memo.txt", MEMO.encode())
        assert document.status == Document.Status.INDEXED
        text = document.chunks.get().text
        tokens = TOKEN.findall(text)
        assert len(tokens) == 2 and tokens[0] == tokens[1]  # the same person, recognisable, unnamed
        assert "Kavya" not in text and "kavya" not in text and "98765" not in text
        assert "*****.****@******e.com" in text
        assert "<EMPLOYEE_ID>" in text and "204311" not in text
        assert "<PHONE_NUMBER>" in text
        manifest = document.manifest
        assert manifest["entity_actions"]["PERSON"] == "pseudonymize"
        assert manifest["custom_recognizers"] == {"EMPLOYEE_ID": "redact"}
        assert manifest["counts"]["EMPLOYEE_ID"] == 1 and manifest["counts"]["PERSON"] == 2
        assert len(manifest["policy_version"]) == 16 and "detector" in manifest
        assert manifest["text_sha256_before"] != manifest["text_sha256_after"]
        # The vault holds the value, encrypted; findings hold keyed hashes; nothing stores the name in clear.
        entry = VaultEntry.objects.get(tenant=alice.tenant, token=tokens[0])
        assert "Kavya" not in entry.ciphertext
        finding = ValueFinding.objects.get(document=document, token=tokens[0])
        assert finding.chunk_ids == [document.chunks.get().pk]
        assert ValueFinding.objects.filter(document=document, entity_type="EMAIL_ADDRESS").exists()
        for event in AuditEvent.objects.all():
            assert "Kavya" not in str(event.details) and "98765" not in str(event.details)

    def test_same_person_gets_the_same_token_across_documents_and_in_questions(self, alice, charlie):
        for actor in (alice, charlie):
            EntityRule.objects.create(tenant=actor.tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)
        first = ingest(alice, "a.txt", b"Minutes. Kavya Iyer approved the budget for the new lab.")
        second = ingest(alice, "b.txt", b"Travel. The trip of Kavya Iyer to Pune was booked in March.")
        other = ingest(charlie, "c.txt", b"Minutes. Kavya Iyer approved the budget for the new lab.")
        token = TOKEN.findall(first.chunks.get().text)
        assert token and token == TOKEN.findall(second.chunks.get().text)
        assert TOKEN.findall(other.chunks.get().text) != token  # keyed per tenant: not linkable across tenants
        assert TOKEN.findall(pii_redact_text(tenant=alice.tenant, text="What did Kavya Iyer approve?")) == token
        assert VaultEntry.objects.filter(tenant=alice.tenant).count() == 1

    def test_block_refuses_the_whole_document_with_a_code(self, alice):
        EntityRule.objects.create(tenant=alice.tenant, entity_type="IN_AADHAAR", action=PiiAction.BLOCK)
        number = aadhaar(random.Random(5))
        document = ingest(alice, "kyc.txt", f"KYC form. Aadhaar number: {number}. Address on file.".encode())
        assert document.status == Document.Status.FAILED
        assert document.error_code == "pii_blocked"
        assert "Aadhaar" in document.error_message and number not in document.error_message
        assert not Chunk.objects.filter(document=document).exists()
        assert not ValueFinding.objects.filter(document=document).exists()

    def test_a_blocked_document_in_a_batch_fails_alone(self, alice):
        EntityRule.objects.create(tenant=alice.tenant, entity_type="IN_AADHAAR", action=PiiAction.BLOCK)
        number = aadhaar(random.Random(6))
        texts = [
            b"Minutes. Kavya Iyer approved the budget for the new lab.",
            f"KYC form. Aadhaar number: {number}.".encode(),
            b"Travel. Arjun Mehta booked the trip to Pune; write to arjun@acme.example.",
        ]
        documents = [upload(alice, f"doc{i}.txt", text) for i, text in enumerate(texts)]
        document_process(document_id=str(documents[0].pk))  # one batch, one detector pass for all three
        first, blocked, third = (Document.objects.get(pk=d.pk) for d in documents)
        assert blocked.status == Document.Status.FAILED and blocked.error_code == "pii_blocked"
        assert first.status == third.status == Document.Status.INDEXED
        assert first.chunks.get().text == "Minutes. <PERSON> approved the budget for the new lab."
        assert "Arjun" not in third.chunks.get().text and "arjun@" not in third.chunks.get().text
        assert third.redaction_counts == {"EMAIL_ADDRESS": 1, "PERSON": 1}

    def test_threshold_and_allow_list_keep_values_the_tenant_chose_to_keep(self, alice):
        AllowTerm.objects.create(tenant=alice.tenant, term="kavya  IYER")  # the founder, named in the company name
        # A threshold keeps values below it only where the second pass is told to allow what it alone finds.
        EntityRule.objects.create(tenant=alice.tenant, entity_type="EMAIL_ADDRESS", threshold=1.0, uncertain="allow")
        document = ingest(
            alice, "a.txt", b"Kavya Iyer hired Arjun Mehta last year. Write to press@acme.example for comments."
        )
        text = document.chunks.get().text
        assert "Kavya Iyer" in text and "Arjun" not in text
        assert document.redaction_counts.get("PERSON") == 1
        # An e-mail on an unknown suffix scores below 1.0, so the rule's threshold of 1.0 keeps it.
        assert "press@acme.example" in text

    def test_question_with_blocked_type_is_redacted_not_refused(self, alice):
        EntityRule.objects.create(tenant=alice.tenant, entity_type="EMAIL_ADDRESS", action=PiiAction.BLOCK)
        assert pii_redact_text(tenant=alice.tenant, text="Who is ravi@example.com?") == "Who is <EMAIL_ADDRESS>?"


@pytest.mark.django_db
class TestReveal:
    def _token(self, alice) -> str:  # noqa: ANN001
        EntityRule.objects.create(tenant=alice.tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)
        document = ingest(alice, "a.txt", b"Minutes. Kavya Iyer approved the budget for the new lab.")
        return TOKEN.findall(document.chunks.get().text)[0]

    def test_reveal_needs_the_permission_and_is_audited_without_the_value(self, alice):
        token = self._token(alice)
        with pytest.raises(ServiceError) as refused:
            vault_reveal(tenant=alice.tenant, token=token, actor=alice.user, reason="ticket 1")
        assert refused.value.status_code == 403
        assert AuditEvent.objects.filter(action="vault.reveal_refused").count() == 1
        alice.user.user_permissions.add(Permission.objects.get(codename="reveal_pseudonym"))
        user = User.objects.get(pk=alice.user.pk)  # fresh permission cache
        with pytest.raises(ServiceError) as no_reason:
            vault_reveal(tenant=alice.tenant, token=token, actor=user, reason="  ")
        assert no_reason.value.code == "reason_required" and no_reason.value.status_code == 400
        assert vault_reveal(tenant=alice.tenant, token=token, actor=user, reason="ticket 1") == "Kavya Iyer"
        event = AuditEvent.objects.get(action="vault.revealed")
        assert event.actor_label == f"user:{event.actor_id}" and event.actor.username == "alice"
        assert "Kavya" not in str(event.details) and token not in str(event.details)
        assert event.details["reason"] == "ticket 1"

    def test_other_tenant_cannot_reveal_a_token(self, alice, charlie):
        token = self._token(alice)
        charlie.user.user_permissions.add(Permission.objects.get(codename="reveal_pseudonym"))
        user = User.objects.get(pk=charlie.user.pk)
        with pytest.raises(ServiceError) as missing:
            vault_reveal(tenant=charlie.tenant, token=token, actor=user, reason="ticket 1")
        assert missing.value.status_code == 404

    def test_admin_reveal_action_shows_values_only_to_permitted_staff(self, alice):
        token = self._token(alice)
        entry = VaultEntry.objects.get(token=token)
        # A compliance officer administering tenant A: staff, the tenant admin group, and the reveal grant later.
        staff = tenant_bootstrap(slug=alice.tenant.slug, username="compliance", role=Role.ADMIN, staff=True)[0].user
        client = Client()
        client.force_login(staff)
        url = "/admin/vault/vaultentry/"
        page = client.get(url)
        listing = page.content.decode()
        assert page.status_code == 200 and html.escape(token) in listing and "Kavya" not in listing
        refused = client.post(url, {"action": "reveal", "_selected_action": [entry.pk]})
        assert "Kavya" not in refused.content.decode()  # the action is not offered without the permission
        staff.user_permissions.add(Permission.objects.get(codename="reveal_pseudonym"))
        client.force_login(User.objects.get(pk=staff.pk))
        asked = client.post(url, {"action": "reveal", "_selected_action": [entry.pk]})
        assert asked.status_code == 200 and "Kavya" not in asked.content.decode() and b'name="reason"' in asked.content
        confirmed = {"action": "reveal", "_selected_action": [entry.pk], "reveal_confirmed": "yes"}
        shown = client.post(url, {**confirmed, "reason": "DSAR ticket 42"})
        assert shown.status_code == 200 and "Kavya Iyer" in shown.content.decode()
        assert AuditEvent.objects.filter(action="vault.revealed", actor__username="compliance").count() == 1


@pytest.mark.django_db
class TestPolicyAdmin:
    @pytest.fixture
    def admin_client(self, db) -> Client:  # noqa: ANN001
        client = Client()
        client.force_login(User.objects.create_superuser("root", password="pw-123456789"))
        return client

    def test_custom_recognizer_is_validated(self, admin_client, alice):
        url = "/admin/policies/customrecognizer/add/"
        for label, pattern, message in [
            ("EMPLOYEE_ID", "EMP-(\\d+", "Not a valid regular expression"),
            ("EMPLOYEE_ID", "\\d*", "matches empty text"),
            ("employee", "EMP-\\d+", "Upper-case letters"),
            ("PERSON", "EMP-\\d+", "built-in type"),
        ]:
            data = {"tenant": alice.tenant.pk, "label": label, "pattern": pattern, "action": "redact"}
            response = admin_client.post(url, data)
            assert response.status_code == 200 and message in response.content.decode()
        assert not CustomRecognizer.objects.exists()

    def test_policy_changes_in_admin_are_audited(self, admin_client, alice):
        response = admin_client.post(
            "/admin/policies/entityrule/add/",
            {
                "tenant": alice.tenant.pk,
                "entity_type": "PERSON",
                "action": "pseudonymize",
                "threshold": "0.6",
                "uncertain": "hold",
            },
        )
        assert response.status_code == 302
        event = AuditEvent.objects.get(action="policy.entityrule.created")
        assert event.details["action"] == "pseudonymize" and event.details["threshold"] == 0.6
        assert event.details["uncertain"] == "hold"
        bad = admin_client.post(
            "/admin/policies/entityrule/add/",
            {
                "tenant": alice.tenant.pk,
                "entity_type": "EMAIL_ADDRESS",
                "action": "mask",
                "threshold": "1.5",
                "uncertain": "redact",
            },
        )
        assert "between 0 and 1" in bad.content.decode()
