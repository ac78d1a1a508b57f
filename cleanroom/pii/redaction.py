"""Pure redaction: given detected spans, produce the redacted text and counts. No models, no ORM."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity_type: str
    score: float


@dataclass(frozen=True)
class Redacted:
    text: str
    counts: dict[str, int]


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Keep the strongest of overlapping spans (then the longest), so that each character is replaced once."""
    chosen: list[Span] = []
    for span in sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start)):
        if all(span.end <= kept.start or span.start >= kept.end for kept in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def placeholder(entity_type: str) -> str:
    return f"<{entity_type}>"


def apply_redactions(text: str, spans: list[Span]) -> Redacted:
    pieces: list[str] = []
    cursor = 0
    counts: Counter[str] = Counter()
    for span in resolve_overlaps(spans):
        pieces.append(text[cursor : span.start])
        pieces.append(placeholder(span.entity_type))
        counts[span.entity_type] += 1
        cursor = span.end
    pieces.append(text[cursor:])
    return Redacted(text="".join(pieces), counts=dict(counts))


def merge_counts(*many: dict[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for counts in many:
        total.update(counts)
    return dict(sorted(total.items()))
