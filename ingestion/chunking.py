"""Split redacted text into overlapping, sentence-aligned chunks that fit the embedder's window. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9<])")
_BLANK_LINES = re.compile(r"\n\s*\n")
# Below this a chunk says too little to be worth cutting further to fit a window.
_MIN_WORDS = 20


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


def _pack(units: list[str], *, target_words: int, overlap_words: int) -> list[str]:
    """Pack whole units up to `target_words`; carry the last units (up to `overlap_words`) into the next chunk so
    that an answer spanning a boundary is still found whole in one chunk."""
    chunks: list[str] = []
    current: list[str] = []
    current_words = 0
    fresh = 0  # words in `current` that no earlier chunk holds
    for unit in units:
        words = len(unit.split())
        if current and current_words + words > target_words:
            chunks.append(" ".join(current))
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
        chunks.append(" ".join(current))
    return chunks


def _balanced(units: list[str], *, target_words: int, overlap_words: int) -> list[str]:
    """The fewest chunks that `target_words` allows, made as even as possible: the smallest size that still gives
    that count. Greedy packing alone leaves a short tail chunk (a 170-word text at 160 words: 160 + 40 with the
    overlap), which holds too little to be found on its own and takes a result slot from other documents."""
    greedy = _pack(units, target_words=target_words, overlap_words=overlap_words)
    low, high = 1, target_words
    while low < high:
        middle = (low + high) // 2
        if len(_pack(units, target_words=middle, overlap_words=overlap_words)) <= len(greedy):
            high = middle
        else:
            low = middle + 1
    return _pack(units, target_words=low, overlap_words=overlap_words) if low < target_words else greedy


def chunk_section(
    section: str,
    text: str,
    *,
    target_words: int,
    overlap_words: int,
    fits: Callable[[str], bool] | None = None,
) -> list[ChunkText]:
    """Sentence-aligned chunks of about `target_words`, overlapping by up to `overlap_words`.

    `fits` says whether a chunk's text fits the embedder's window (the model cuts what does not, so a cut tail
    would be invisible to dense search). With it, a section that fits whole stays one chunk even above
    `target_words`: one text embedded whole matches a question about it better than its halves embedded apart.
    Chunks that do not fit are cut smaller until they do."""
    joined = " ".join(split_sentences(text))
    if not joined:
        return []
    if fits is not None and fits(joined):
        return [ChunkText(section, joined)]
    size = target_words
    while True:
        units: list[str] = []
        for sentence in split_sentences(text):
            units.extend(_word_windows(sentence, size) if len(sentence.split()) > size else [sentence])
        pieces = _balanced(units, target_words=size, overlap_words=min(overlap_words, size // 2))
        if fits is None or size <= _MIN_WORDS or all(fits(piece) for piece in pieces):
            return [ChunkText(section, piece) for piece in pieces]
        size = max(_MIN_WORDS, size * 4 // 5)


def chunk_sections(
    sections: list[tuple[str, str]],
    *,
    target_words: int,
    overlap_words: int,
    fits: Callable[[str, str], bool] | None = None,
) -> list[ChunkText]:
    """Chunks of every (label, text) section; `fits(label, chunk text)` as in chunk_section."""
    chunks: list[ChunkText] = []
    for label, text in sections:
        section_fits = None if fits is None else (lambda piece, label=label: fits(label, piece))
        chunks.extend(
            chunk_section(label, text, target_words=target_words, overlap_words=overlap_words, fits=section_fits)
        )
    return chunks
