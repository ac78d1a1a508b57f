"""The second pass before indexing, and the review queue it feeds.

Every document's stored texts get the leak scan's stricter pass before they are stored, so that the leak scan
finds nothing afterwards. Per type, the policy says what to do with what only that pass finds: redact (default),
hold the document for a reviewer, or allow. A held document is searchable by nobody until a reviewer (role
reviewer or admin) confirms or rejects each value and releases it; decisions are audited without values."""

from __future__ import annotations

import json
import random

import pytest
from django.test import Client

from cleanroom.audit.models import AuditEvent
from cleanroom.policies.models import AllowTerm, DenyTerm, EntityRule, UncertainAction
from cleanroom.tenants.models import Role
from ingestion.erasure import erasure_execute, erasure_preview
from ingestion.leakscan import leakscan_run
from ingestion.models import Chunk, Document, ReviewItem
from ingestion.pipeline import document_process
from ingestion.quarantine import quarantine_paths, review_path
from tests.conftest import Actor, ingest, make_actor
from tests.helpers.samples import aadhaar, make_docx, make_pdf, make_pptx, make_xlsx, pan

# Single given names score 0.55-0.6 with no surname or marker beside them: under a PERSON threshold of 0.7 the
# first pass leaves them, and the stricter pass (0.3) finds them.
MEMO = (
    "Plant maintenance memo\n\n"
    "The boiler inspection was approved by Lakshmi after the audit. "
    "Tanvi will lead the Surat dyeing unit from April. "
    "Contact the plant office at plant.office@acme-textiles.in for the schedule."
)
NAMES = ("Lakshmi", "Tanvi")


def _strict_person(actor: Actor, uncertain: str) -> None:
    EntityRule.objects.create(tenant=actor.tenant, entity_type="PERSON", threshold=0.7, uncertain=uncertain)


def _stored(document: Document) -> str:
    chunks = Chunk.objects.filter(document=document).values_list("section", "text")
    return "\n".join([document.title, document.filename, *(f"{s}\n{t}" for s, t in chunks)])


@pytest.mark.django_db
def test_what_the_leak_scan_would_find_the_pipeline_redacts_first(alice):
    """Finding 4 of the issue: a name the first pass missed (here: below a raised threshold) was flagged by the
    product's own leak scan after indexing. Now the second pass redacts it, and the leak scan reports nothing."""
    _strict_person(alice, UncertainAction.REDACT)
    document = ingest(alice, "memo.txt", MEMO.encode())
    assert document.status == Document.Status.INDEXED
    stored = _stored(document)
    for name in NAMES:
        assert name not in stored
    assert "<EMAIL_ADDRESS>" in stored and "Surat" in stored  # a town stays a town
    assert document.manifest["second_pass"]["counts"].get("PERSON", 0) >= 2
    assert document.redaction_counts["PERSON"] >= 2
    assert leakscan_run(tenant=alice.tenant) == []


@pytest.mark.django_db
def test_a_slide_name_is_redacted_before_indexing_and_the_leak_scan_finds_nothing(alice):
    deck = make_pptx(
        [
            ("Hiring plan 2026", ["Hiring manager: Arjun Iyer (arjun.iyer@acme.in)", "Open roles: 4 engineers"]),
            ("Budget", ["Approved by Sunita Rao, CFO", "Travel budget 12 lakh"]),
        ]
    )
    document = ingest(alice, "plan.pptx", deck)
    assert document.status == Document.Status.INDEXED
    stored = _stored(document)
    assert "Arjun" not in stored and "Iyer" not in stored and "Sunita" not in stored
    assert leakscan_run(tenant=alice.tenant) == []


@pytest.mark.django_db
def test_allow_keeps_what_only_the_second_pass_found(alice):
    _strict_person(alice, UncertainAction.ALLOW)
    document = ingest(alice, "memo.txt", MEMO.encode())
    assert document.status == Document.Status.INDEXED
    stored = _stored(document)
    assert all(name in stored for name in NAMES)
    assert document.manifest["second_pass"]["by_decision"].get("allow", 0) >= 2
    assert document.manifest["entity_uncertain"] == {"PERSON": "allow"}


@pytest.fixture
def reviewer(db) -> Actor:
    return make_actor("tenant-a", "rita", Role.REVIEWER)


def _api_items(actor: Actor, document: Document) -> list[dict]:
    response = actor.client().get(f"/api/v1/review/{document.pk}")
    assert response.status_code == 200, response.content
    return response.json()["items"]


@pytest.mark.django_db
def test_hold_review_and_release(alice, bob, reviewer):
    _strict_person(alice, UncertainAction.HOLD)
    document = ingest(alice, "memo.txt", MEMO.encode())

    # Held: nothing searchable, nothing in the index, the raw upload and the texts to review kept in quarantine.
    assert document.status == Document.Status.HELD
    assert Chunk.objects.filter(document=document).count() == 0
    assert quarantine_paths(document.pk)[0].exists() and review_path(document.pk).exists()
    assert alice.client().get(f"/api/v1/documents/{document.pk}").json()["status"] == "held"
    assert alice.client().get("/api/v1/documents?status=held").json()["count"] == 1
    held_event = AuditEvent.objects.get(action="document.held")
    assert held_event.details["types"] == {"PERSON": ReviewItem.objects.filter(document=document).count()}
    assert not any(name in json.dumps(held_event.details) for name in NAMES)

    # Who may review: reviewers and admins of the tenant; editors and viewers are refused, another tenant sees
    # nothing (404 exactly like a missing document).
    assert alice.client().get("/api/v1/review").status_code == 403
    assert bob.client().get(f"/api/v1/review/{document.pk}").status_code == 403
    carol = make_actor("tenant-b", "carol", Role.REVIEWER)
    other = carol.client().get(f"/api/v1/review/{document.pk}")
    missing = carol.client().get("/api/v1/review/00000000-0000-0000-0000-000000000000")
    assert other.status_code == missing.status_code == 404 and other.json() == missing.json()
    assert carol.client().post(f"/api/v1/review/{document.pk}/release").status_code == 404
    queue = reviewer.client().get("/api/v1/review").json()
    assert [row["id"] for row in queue["results"]] == [str(document.pk)]
    assert queue["results"][0]["pending"] == ReviewItem.objects.filter(document=document).count()

    items = _api_items(reviewer, document)
    assert {item["value"] for item in items} == set(NAMES)
    assert all(item["entity_type"] == "PERSON" and item["decision"] == "" for item in items)
    by_value = {item["value"]: item for item in items}

    # Releasing with values undecided is refused.
    early = reviewer.client().post(f"/api/v1/review/{document.pk}/release")
    assert early.status_code == 409 and early.json()["error"]["code"] == "review_incomplete"

    # Lakshmi is a person (and from now on always), Tanvi here is not (say, a product line), kept for this tenant.
    decided = reviewer.client().post(
        f"/api/v1/review/{document.pk}/decisions",
        {
            "decisions": [
                {"item": by_value["Lakshmi"]["id"], "decision": "confirmed", "remember": True},
                {"item": by_value["Tanvi"]["id"], "decision": "rejected", "remember": True},
            ]
        },
        format="json",
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["pending"] == 0
    assert DenyTerm.objects.filter(tenant=alice.tenant, entity_type="PERSON").count() == 1
    assert AllowTerm.objects.filter(tenant=alice.tenant).count() == 1
    event = AuditEvent.objects.get(action="review.decided")
    assert event.actor_id == reviewer.user.pk
    assert {d["decision"] for d in event.details["decisions"]} == {"confirmed", "rejected"}
    assert not any(name in json.dumps(event.details) for name in NAMES)

    released = reviewer.client().post(f"/api/v1/review/{document.pk}/release")
    assert released.status_code == 202 and released.json()["status"] == "queued"
    document_process(document_id=str(document.pk))  # what the worker does with the enqueued task
    document.refresh_from_db()
    assert document.status == Document.Status.INDEXED
    stored = _stored(document)
    assert "Lakshmi" not in stored and "Tanvi" in stored
    assert not quarantine_paths(document.pk)[0].exists() and not review_path(document.pk).exists()
    assert AuditEvent.objects.filter(action="review.released").count() == 1

    # The decisions became policy: the next document with the same names needs no review.
    again = ingest(alice, "memo-2.txt", ("Second memo. " + MEMO).encode())
    assert again.status == Document.Status.INDEXED
    stored = _stored(again)
    assert "Lakshmi" not in stored and "Tanvi" in stored
    for row in AuditEvent.objects.values_list("details", flat=True):
        assert "Lakshmi" not in json.dumps(row)


@pytest.mark.django_db
def test_review_pages_for_a_reviewer(alice, reviewer):
    _strict_person(alice, UncertainAction.HOLD)
    document = ingest(alice, "memo.txt", MEMO.encode())
    web = Client()
    # Through the login page: the lockout backend (django-axes) needs the request that Client.login() does not pass.
    assert web.post("/accounts/login/", {"username": "rita", "password": "correct-horse-42"}).status_code == 302
    listing = web.get("/review/")
    assert listing.status_code == 200 and str(document.pk) in listing.content.decode()
    page = web.get(f"/review/{document.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('title="PERSON, score') == ReviewItem.objects.filter(document=document).count() == 2
    assert "&lt;EMAIL_ADDRESS&gt;" in html  # what the first pass found is already a placeholder

    fields = {f"item-{item.pk}": "confirmed" for item in ReviewItem.objects.filter(document=document)}
    assert web.post(f"/review/{document.pk}/", fields).status_code == 302
    assert web.post(f"/review/{document.pk}/release").status_code == 302
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    document_process(document_id=str(document.pk))
    document.refresh_from_db()
    assert document.status == Document.Status.INDEXED
    assert not any(name in _stored(document) for name in NAMES)

    editor = Client()
    assert editor.post("/accounts/login/", {"username": "alice", "password": "correct-horse-42"}).status_code == 302
    assert editor.get("/review/").status_code == 403


@pytest.mark.django_db
def test_metrics_count_held_documents_and_pending_values(alice, settings):
    _strict_person(alice, UncertainAction.HOLD)
    ingest(alice, "memo.txt", MEMO.encode())
    body = Client().get("/metrics").content.decode()  # the test client comes from 127.0.0.1
    region = settings.CLEANROOM_REGION
    assert f'cleanroom_documents{{region="{region}",status="held"}} 1.0' in body
    assert f'cleanroom_review_items_pending{{region="{region}"}} 2.0' in body
    assert "Lakshmi" not in body and "memo" not in body

    settings.METRICS_TOKEN = "scrape-secret"
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200


@pytest.mark.django_db
def test_erasure_reaches_a_held_document_and_the_deny_term(alice, reviewer):
    """A held document's raw upload still names the person: erasure discards it (and any deny term naming them),
    and the receipt says so, clean."""
    _strict_person(alice, UncertainAction.HOLD)
    document = ingest(alice, "memo.txt", MEMO.encode())
    DenyTerm.objects.create(tenant=alice.tenant, term="Lakshmi")
    plan = erasure_preview(tenant=alice.tenant, identifier="Lakshmi", actor=None)
    assert plan["held_documents_to_discard"] == [str(document.pk)] and plan["deny_terms_to_remove"] == 1
    receipt = erasure_execute(tenant=alice.tenant, identifier="Lakshmi", actor=None)
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED and document.error_code == "erased"
    assert not quarantine_paths(document.pk)[0].exists() and not review_path(document.pk).exists()
    assert not ReviewItem.objects.filter(document=document).exists() and not DenyTerm.objects.exists()
    assert receipt.receipt["held_documents_discarded"] == [str(document.pk)]
    assert receipt.receipt["verification"]["clean"] is True, receipt.receipt["verification"]


@pytest.mark.django_db
def test_the_leak_scan_finds_nothing_in_a_canary_set_after_ingestion(alice):
    """The issue's "done when": names, Aadhaar, PAN, card, phone and e-mail in every format we read, with the
    default policy; after ingestion the leak scan (the stricter pass over what was stored) reports nothing."""
    rng = random.Random(13)
    number, pan_number = aadhaar(rng), pan(rng)
    lines = [
        f"Case contact: Kavya Iyer (kavya.iyer@example.org, +91 98450 12345). Aadhaar {number}, PAN {pan_number}.",
        "Card on file: 4111 1111 1111 1111. Reviewed by Shri Ramesh Yadav, S/o Mohan Lal Yadav.",
        "Witness Pooja Mahajan (PW-1) was examined; Learned Counsel for Pranab appeared.",
        "Hariram and Tarachand attended the site visit with N.Laxmamma from the Surat dyeing unit.",
    ]
    files = {
        "canary.txt": "\n\n".join(lines).encode(),
        "canary.docx": make_docx("Case file of Kavya Iyer", lines),
        "canary.pptx": make_pptx([("Case review", lines[:2]), ("Hiring manager: Arjun Iyer", lines[2:])]),
        "canary.xlsx": make_xlsx(
            {"Contacts": [["Name", "Phone", "E-mail"], ["Meera Pillai", "98450 12345", "m@x.in"]]}
        ),
        "canary.pdf": make_pdf(lines),
    }
    for name, data in files.items():
        document = ingest(alice, name, data)
        assert document.status == Document.Status.INDEXED, (name, document.error_code)
        stored = _stored(document)
        for value in ("Kavya", "kavya.iyer@", "98450", number, pan_number, "4111", "Arjun", "Meera"):
            assert value not in stored, (name, value)
    assert leakscan_run(tenant=alice.tenant) == []
