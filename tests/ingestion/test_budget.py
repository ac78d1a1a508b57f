"""The per-document budget: an allowed upload that is too big to redact in reasonable time fails at once with
`budget_exceeded`, on its first attempt, while the rest of its batch is indexed."""

from __future__ import annotations

import time

import pytest

from ingestion.budget import BUDGET_EXCEEDED, BudgetExceeded, budget_check
from ingestion.extraction import Extracted, Section
from ingestion.models import Chunk, Document
from ingestion.pipeline import document_process
from tests.conftest import upload

pytestmark = pytest.mark.django_db

POLICY = b"Travel policy.\n\nEconomy class is booked for flights under six hours. Hotels up to 120 EUR a night.\n"


def test_budget_check_names_the_limit_that_was_passed(settings):
    settings.INGEST_MAX_WORDS = 10
    settings.INGEST_MAX_SECTIONS = 3
    settings.INGEST_MAX_EXTRACT_SECONDS = 5
    budget_check(Extracted("text/plain", [Section("", "one two three")]), extract_seconds=1)
    with pytest.raises(BudgetExceeded, match="more than 10 words"):
        budget_check(Extracted("text/plain", [Section("", "word " * 6), Section("", "word " * 6)]))
    with pytest.raises(BudgetExceeded, match="4 sections"):
        budget_check(Extracted("text/markdown", [Section(f"h{i}", "x") for i in range(4)]))
    with pytest.raises(BudgetExceeded, match="took 9 s") as caught:
        budget_check(Extracted("text/plain", [Section("", "fine")]), extract_seconds=9)
    assert caught.value.code == BUDGET_EXCEEDED


def test_oversized_text_fails_fast_with_budget_exceeded_and_the_batch_goes_on(alice):
    # About 4 MB and 700,000 words: past the default budget (500,000 words), so no Presidio run at all.
    huge = upload(alice, "dump.txt", b"The pump log records pressure readings every hour.\n" * 90_000)
    small = upload(alice, "travel.txt", POLICY)
    began = time.monotonic()
    indexed = document_process(document_id=str(huge.pk))
    elapsed = time.monotonic() - began
    huge.refresh_from_db()
    assert huge.status == Document.Status.FAILED
    assert huge.error_code == BUDGET_EXCEEDED and "500,000 words" in huge.error_message
    assert huge.attempts == 1 and not Chunk.objects.filter(document=huge).exists()
    assert indexed == [str(small.pk)]
    assert elapsed < 60, elapsed  # a few seconds of extraction, not minutes of redaction


def test_markdown_with_too_many_headings_fails_with_budget_exceeded(alice, settings):
    settings.INGEST_MAX_SECTIONS = 500
    text = "".join(f"# Heading {i}\n\nLine {i}.\n\n" for i in range(2_000)).encode()
    document = upload(alice, "outline.md", text)
    assert document_process(document_id=str(document.pk)) == []
    document.refresh_from_db()
    assert (document.status, document.error_code) == (Document.Status.FAILED, BUDGET_EXCEEDED)
    assert "2,000 sections" in document.error_message
    body = alice.client().get(f"/api/v1/documents/{document.pk}").json()
    assert body["error"]["code"] == BUDGET_EXCEEDED
