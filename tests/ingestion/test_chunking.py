from __future__ import annotations

from ingestion.chunking import chunk_section


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
