from __future__ import annotations

from ingestion.chunking import chunk_section
from ingestion.embeddings import embedding_window, token_count


def _sentences(n: int) -> str:
    return " ".join(f"Sentence number {i} talks about topic {i}." for i in range(n))


def test_short_text_is_one_chunk():
    chunks = chunk_section("s", "Only one short sentence.", target_words=50, overlap_words=10)
    assert [c.text for c in chunks] == ["Only one short sentence."]


def test_chunks_respect_size_and_overlap_and_lose_nothing():
    text = _sentences(60)
    chunks = chunk_section("Intro", text, target_words=40, overlap_words=12)
    assert len(chunks) > 3
    assert all(len(c.text.split()) <= 40 for c in chunks)
    assert all(c.section == "Intro" for c in chunks)
    for i in range(60):  # every sentence survives somewhere
        assert any(f"Sentence number {i} " in c.text for c in chunks)
    # consecutive chunks share their boundary sentence
    assert chunks[0].text.split(". ")[-1] in chunks[1].text


def test_very_long_sentence_is_split_by_words():
    text = " ".join(["word"] * 500)
    chunks = chunk_section("", text, target_words=100, overlap_words=0)
    assert len(chunks) == 5
    assert all(len(c.text.split()) == 100 for c in chunks)


def test_placeholders_are_kept_intact():
    text = "Call <PERSON> at <PHONE_NUMBER>. The office opens at 9."
    chunks = chunk_section("", text, target_words=50, overlap_words=0)
    assert "<PERSON>" in chunks[0].text and "<PHONE_NUMBER>" in chunks[0].text


def test_uneven_split_is_balanced_without_a_tiny_tail():
    # 34 sentences of 5 words (170 words) at 160 words: greedy packing gave 160 + a 40-word tail (with overlap).
    text = " ".join(f"Fact {i} is stated here." for i in range(34))
    chunks = chunk_section("", text, target_words=160, overlap_words=30)
    sizes = [len(c.text.split()) for c in chunks]
    assert len(chunks) == 2 and all(size <= 160 for size in sizes)
    assert min(sizes) >= 80, sizes
    assert all(any(f"Fact {i} " in c.text for c in chunks) for i in range(34))


def test_a_section_that_fits_the_embedders_window_stays_whole(db):
    # About 190 words of plain English: above the word target, inside MiniLM's 256 word pieces.
    text = " ".join(f"The committee reviewed the budget for year {i} and approved it." for i in range(19))
    assert token_count(text) <= embedding_window() < token_count(text + " " + text)
    fits = lambda piece: token_count(piece) <= embedding_window()  # noqa: E731
    assert [c.text for c in chunk_section("", text, target_words=160, overlap_words=30, fits=fits)] == [text]
    assert len(chunk_section("", text, target_words=160, overlap_words=30)) == 2  # without the window: by words


def test_chunks_are_cut_until_the_embedder_reads_them_whole(db):
    # Word-piece-heavy text: 150 words that MiniLM reads as far more than 256 word pieces.
    text = " ".join(f"Phosphorylation of {i}-hydroxyacetophenone-dehydrogenase was quantified." for i in range(30))
    window = embedding_window()
    fits = lambda piece: token_count(piece) <= window  # noqa: E731
    assert len(text.split()) <= 160 < token_count(text)
    chunks = chunk_section("", text, target_words=160, overlap_words=30, fits=fits)
    assert len(chunks) > 1 and all(token_count(c.text) <= window for c in chunks)
    assert all(any(f"of {i}-hydroxy" in c.text for c in chunks) for i in range(30))
