"""Split redacted text into overlapping, sentence-aligned chunks sized for MiniLM (256 tokens). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9<])")
_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class ChunkText:
    section: str
    text: str


def split_sentences(text: str) -> list[str]:
    pieces: list[str] = []
    for paragraph in _BLANK_LINES.split(text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            pieces.extend(s for s in _SENTENCE_END.split(paragraph) if s)
    return pieces


def _word_windows(sentence: str, size: int) -> list[str]:
    words = sentence.split()
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


def chunk_section(section: str, text: str, *, target_words: int, overlap_words: int) -> list[ChunkText]:
    """Pack whole sentences up to `target_words`; carry the last sentences (up to `overlap_words`) into the next
    chunk so that an answer spanning a boundary is still found whole in one chunk."""
    units: list[str] = []
    for sentence in split_sentences(text):
        units.extend(_word_windows(sentence, target_words) if len(sentence.split()) > target_words else [sentence])

    chunks: list[ChunkText] = []
    current: list[str] = []
    current_words = 0
    fresh = 0  # words in `current` that no earlier chunk holds
    for unit in units:
        words = len(unit.split())
        if current and current_words + words > target_words:
            chunks.append(ChunkText(section, " ".join(current)))
            carried: list[str] = []
            carried_words = 0
            for previous in reversed(current):
                n = len(previous.split())
                if carried_words + n > overlap_words:
                    break
                carried.insert(0, previous)
                carried_words += n
            current, current_words, fresh = carried, carried_words, 0
        current.append(unit)
        current_words += words
        fresh += words
    if current and fresh:
        chunks.append(ChunkText(section, " ".join(current)))
    return chunks


def chunk_sections(sections: list[tuple[str, str]], *, target_words: int, overlap_words: int) -> list[ChunkText]:
    chunks: list[ChunkText] = []
    for label, text in sections:
        chunks.extend(chunk_section(label, text, target_words=target_words, overlap_words=overlap_words))
    return chunks
