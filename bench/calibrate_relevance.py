"""Calibrate the abstention threshold (CLEANROOM_MIN_RELEVANCE) on data.

    python -m bench.calibrate_relevance [--eval ../shared/eval] [--docs 1500]

The threshold is the cosine similarity of the best retrieved chunk below which the service abstains without asking
the model. It is chosen where answerable questions are told apart best from questions the documents cannot answer:

- answerable: SciFact *train* claims whose judged abstracts are in the indexed sample;
- unanswerable, off-topic: everyday questions (below) asked of the same scientific abstracts;
- unanswerable, on-topic: SciFact train claims whose judged abstracts were left out of the sample. Retrieval cannot
  tell these apart from answerable ones (same vocabulary); they are reported to show why the service also checks
  the answer against the passages, not to set the threshold.

SciFact is read from the evaluation folder, never copied. Abstracts are chunked by the project's chunker and
embedded with the project's MiniLM, as ingestion does; the search is exact (numpy), the ranking HNSW approximates.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections import defaultdict
from pathlib import Path

import numpy as np

OFF_TOPIC = [
    "Which football club won the 1998 cup final?",
    "How do I reset my office badge PIN?",
    "What is the notice period for resigning from my job?",
    "How many days of annual leave do employees get?",
    "Who is the current prime minister of India?",
    "What time does the canteen open on Saturdays?",
    "How do I book a meeting room for ten people?",
    "What is the capital of Australia?",
    "How do I make a sourdough starter?",
    "Which airline flies directly from Mumbai to Berlin?",
    "What is the expense limit for client dinners?",
    "How do I configure a VPN on Windows 11?",
    "When is the next public holiday?",
    "What is the password policy for company laptops?",
    "How long is the warranty on the office printers?",
    "Can I bring my dog to the office?",
    "What are the visiting hours of the city museum?",
    "How do I change a flat tyre on a bicycle?",
    "Which programming language should I learn first?",
    "What is the price of a monthly metro pass?",
    "Who wrote the novel War and Peace?",
    "How do I file my income tax return online?",
    "What is the dress code for the annual party?",
    "How many players are on a cricket team?",
    "What is the best way to store fresh basil?",
    "When does the parking garage close at night?",
    "How do I request a new company phone?",
    "What is the boiling point of water at high altitude in recipes?",
    "Which movies won the Oscar for best picture in 2010?",
    "How do I renew my passport?",
    "What is the maternity leave policy?",
    "How do I connect to the guest wifi?",
    "Who approves purchase orders above 10,000 euros?",
    "How tall is the Eiffel Tower?",
    "How do I cancel a train ticket?",
    "What is the interest rate on a fixed deposit?",
    "What are the rules for working from another country?",
    "How often are fire drills held?",
    "Which team handles software licence requests?",
    "How do I set up two-factor authentication?",
    "What is a good stretching routine for runners?",
    "How do I apply for a home loan?",
    "What is the recipe for masala chai?",
    "How do I report a phishing e-mail?",
    "What is the refund policy for online orders?",
    "How many moons does Jupiter have?",
    "What is the speed limit on German motorways?",
    "Who maintains the coffee machines?",
    "How do I get reimbursed for a taxi ride?",
    "What is the minimum age to rent a car?",
]


def load_scifact(folder: Path) -> tuple[dict[str, str], dict[str, str], dict[str, set[str]]]:
    corpus = {}
    with (folder / "corpus.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            corpus[row["_id"]] = (row.get("title", "") + "\n\n" + row.get("text", "")).strip()
    queries = {}
    with (folder / "queries_train.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            queries[row["_id"]] = row["text"]
    qrels: dict[str, set[str]] = defaultdict(set)
    with (folder / "qrels_train.tsv").open() as fh:
        next(fh)
        for line in fh:
            query_id, doc_id, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels[query_id].add(doc_id)
    return corpus, queries, qrels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "eval")
    parser.add_argument("--docs", type=int, default=1500, help="abstracts to index")
    parser.add_argument("--queries", type=int, default=300, help="train claims to ask")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")
    import django

    from cleanroom.bootstrap import bootstrap

    bootstrap()  # data dir, keys, the embedded PostgreSQL: settings only read the environment

    django.setup()
    from django.conf import settings

    from ingestion.chunking import chunk_section
    from ingestion.embeddings import embed

    corpus, queries, qrels = load_scifact(args.eval / "scifact")
    rng = random.Random(4)
    claims = rng.sample(sorted(q for q in qrels if q in queries), args.queries)
    answerable, held_out = claims[: len(claims) // 2], claims[len(claims) // 2 :]
    excluded = {doc for q in held_out for doc in qrels[q]}
    docs = {doc for q in answerable for doc in qrels[q]}
    others = sorted(set(corpus) - docs - excluded)
    docs |= set(rng.sample(others, max(0, args.docs - len(docs))))

    texts = []
    for doc_id in sorted(docs):
        title, _, body = corpus[doc_id].partition("\n\n")
        chunks = chunk_section(
            title, body, target_words=settings.CHUNK_TARGET_WORDS, overlap_words=settings.CHUNK_OVERLAP_WORDS
        )
        texts += [chunk.text for chunk in chunks]
    print(f"indexing {len(docs)} abstracts as {len(texts)} chunks …")
    index = embed(texts)

    def best_scores(questions: list[str]) -> np.ndarray:
        return (embed(questions) @ index.T).max(axis=1)

    positive = best_scores([queries[q] for q in answerable])
    off_topic = best_scores(OFF_TOPIC)
    on_topic = best_scores([queries[q] for q in held_out])

    for name, scores in (("answerable", positive), ("off-topic", off_topic), ("held-out (on-topic)", on_topic)):
        low, high = np.percentile(scores, [5, 95])
        print(f"best-chunk cosine, {name:<20} median {np.median(scores):.3f}  5th {low:.3f}  95th {high:.3f}")
    header = ("threshold", "answerable kept", "off-topic abstained", "held-out abstained", "balanced")
    print("\n" + " ".join(f"{h:>20}" for h in header))
    best = (0.0, 0.0)
    for threshold in np.arange(0.05, 0.61, 0.025):
        kept = float((positive >= threshold).mean())
        refused = float((off_topic < threshold).mean())
        held = float((on_topic < threshold).mean())
        balanced = (kept + refused) / 2
        best = max(best, (balanced, -threshold))
        print(" ".join(f"{value:20.3f}" for value in (threshold, kept, refused, held, balanced)))
    # Ties go to the lower threshold: abstaining on an answerable question costs more than one more model call,
    # since the support check still stands behind the threshold.
    print(f"\nbest balanced accuracy {best[0]:.3f} at threshold {-best[1]:.3f}")


if __name__ == "__main__":
    main()
