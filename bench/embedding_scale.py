"""The table that puts multilingual-e5-small's cosine on all-MiniLM-L6-v2's scale (`ingestion.embeddings.E5_SCALE`).

    python -m bench.embedding_scale [--json]

The service's thresholds (the relevance floor, the support check's similarity, the context's relative floor) were
calibrated on MiniLM, whose cosines spread over -0.2 .. 1. E5 puts nearly every pair of texts between 0.7 and 1, so
the same numbers mean nothing there: every question would clear the relevance floor and every answer sentence the
support check's similarity. The two models are compared on the same pairs (every pair of sentences of the policy
documents in bench/data/policies, both embedded as queries; every question of bench/data/qa_policies.jsonl against
every sentence, as query and passage), and E5's cosine at each quantile is matched to MiniLM's at the same quantile:
a pair as rare under E5 as a 0.7 pair is under MiniLM counts as 0.7. The printed anchors are what E5_SCALE holds;
it prints, too, how the current table agrees with a fresh fit (it should, to the rounding, on the same data).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QUANTILES = (0.0, 1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99)


def sentences() -> list[str]:
    found = []
    for path in sorted((ROOT / "bench/data/policies").glob("*.md")):
        for line in path.read_text().splitlines():
            if line.startswith("#"):
                continue
            found += [s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if len(s.split()) >= 5]
    return found


def questions() -> list[str]:
    lines = (ROOT / "bench/data/qa_policies.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def pair_cosines(model: str, texts: list[str], asked: list[str]) -> np.ndarray:
    from ingestion.embeddings import embed

    vectors = embed(texts, kind="query", model=model)
    symmetric = (vectors @ vectors.T)[np.triu_indices(len(texts), 1)]
    questions_vs_passages = embed(asked, kind="query", model=model) @ embed(texts, kind="passage", model=model).T
    return np.concatenate([symmetric, questions_vs_passages.ravel()])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")
    import django

    from cleanroom.bootstrap import bootstrap

    bootstrap()
    django.setup()
    from ingestion.embeddings import E5_SMALL, MINILM, similarity_scale

    texts, asked = sentences(), questions()
    minilm = pair_cosines(MINILM, texts, asked)
    e5 = pair_cosines(E5_SMALL, texts, asked)
    anchors = [(round(float(np.percentile(e5, q)), 4), round(float(np.percentile(minilm, q)), 4)) for q in QUANTILES]
    scaled = np.asarray(similarity_scale(e5, model=E5_SMALL))
    agreement = {
        f">= {t}": {"minilm": round(float((minilm >= t).mean()), 5), "e5_scaled": round(float((scaled >= t).mean()), 5)}
        for t in (0.2, 0.3, 0.5, 0.6, 0.7)
    }
    print(f"{len(texts)} sentences, {len(asked)} questions, {len(minilm)} pairs")
    print("quantile  e5 cosine  minilm cosine")
    for q, (x, y) in zip(QUANTILES, anchors, strict=True):
        print(f"{q:8}  {x:9.4f}  {y:13.4f}")
    print("share of pairs at or above each threshold (MiniLM, E5 through the current table):")
    for threshold, shares in agreement.items():
        print(f"  {threshold}: {shares['minilm']:.5f} {shares['e5_scaled']:.5f}")
    if options.json:
        print(json.dumps({"anchors": anchors, "agreement": agreement}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
