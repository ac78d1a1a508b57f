"""The per-document budget: a document whose text is too big to redact in reasonable time fails at once, with
`budget_exceeded`, instead of holding a worker for half an hour and then being retried.

Checked right after extraction, before redaction (where the time goes: Presidio reads about 28,000 characters a
second, and its cost grows with the number of sections too). Words, sections and extraction time are limited
(INGEST_MAX_WORDS, INGEST_MAX_SECTIONS, INGEST_MAX_EXTRACT_SECONDS)."""

from __future__ import annotations

from django.conf import settings

from cleanroom.errors import ServiceError
from ingestion.extraction import Extracted

BUDGET_EXCEEDED = "budget_exceeded"


class BudgetExceeded(ServiceError):
    """Permanent: the same bytes would exceed the same budget on every attempt."""

    status_code = 413

    def __init__(self, message: str) -> None:
        super().__init__(BUDGET_EXCEEDED, message)


def _word_count(extracted: Extracted, limit: int) -> int:
    """Words of the document, counted up to just past `limit` (a 20 MB text need not be split whole)."""
    total = 0
    for section in extracted.sections:
        total += len(section.text.split())
        if total > limit:
            break
    return total


def budget_check(extracted: Extracted, *, extract_seconds: float = 0.0) -> None:
    """Raise BudgetExceeded when the extracted document is beyond the per-document budget."""
    sections = len(extracted.sections)
    if sections > settings.INGEST_MAX_SECTIONS:
        raise BudgetExceeded(
            f"The document has {sections:,} sections (headings, slides or row groups); the limit is "
            f"{settings.INGEST_MAX_SECTIONS:,}. Split it into smaller files."
        )
    words = _word_count(extracted, settings.INGEST_MAX_WORDS)
    if words > settings.INGEST_MAX_WORDS:
        raise BudgetExceeded(
            f"The document has more than {settings.INGEST_MAX_WORDS:,} words; the limit is "
            f"{settings.INGEST_MAX_WORDS:,}. Split it into smaller files."
        )
    if extract_seconds > settings.INGEST_MAX_EXTRACT_SECONDS:
        raise BudgetExceeded(
            f"Reading the text took {extract_seconds:.0f} s; the limit is {settings.INGEST_MAX_EXTRACT_SECONDS:.0f} s."
        )
