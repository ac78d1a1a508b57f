"""The Hindi retrieval set (bench/data/hindi) is whole: what bench.retrieval reads from it agrees with itself."""

import json
import re
from pathlib import Path

import pytest

from bench.retrieval import load_split, read_jsonl

DATASET = Path(__file__).resolve().parents[2] / "bench" / "data" / "hindi"
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def test_corpus_is_devanagari_passages_with_unique_ids():
    corpus = read_jsonl(DATASET / "corpus.jsonl")
    assert 60 <= len(corpus) <= 150
    assert len({doc["_id"] for doc in corpus}) == len(corpus)
    for doc in corpus:
        assert set(doc) == {"_id", "title", "text"}
        assert 300 <= len(doc["text"]) <= 1300, doc["_id"]
        assert len(DEVANAGARI.findall(doc["text"])) > 0.5 * len(doc["text"]), doc["_id"]


@pytest.mark.parametrize(("split", "language"), [("test", "hi"), ("en", "en")])
def test_every_query_is_judged_against_passages_that_exist(split, language):
    ids = {doc["_id"] for doc in read_jsonl(DATASET / "corpus.jsonl")}
    queries, qrels = load_split(DATASET, split)
    everything = read_jsonl(DATASET / ("queries.jsonl" if split == "test" else f"queries_{split}.jsonl"))
    assert len(queries) == len(everything)  # none without judgements
    assert set(qrels) == {q["_id"] for q in queries}
    assert all(doc in ids and score > 0 for judged in qrels.values() for doc, score in judged.items())
    halves = [q["half"] for q in queries]
    assert set(halves) == {"tune", "check"} and abs(halves.count("tune") - halves.count("check")) <= 1
    assert all(bool(DEVANAGARI.search(q["text"])) == (language == "hi") for q in queries)


def test_queries_are_not_copied_sentences():
    corpus = " ".join(doc["text"] for doc in read_jsonl(DATASET / "corpus.jsonl"))
    for line in (DATASET / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        question = json.loads(line)["text"].rstrip("?")
        assert question not in corpus
