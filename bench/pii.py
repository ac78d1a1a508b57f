"""PII detection quality and speed on a labelled JSONL set (presidio-research's synthetic set and the like).

    python -m bench.pii --dataset ../shared/eval/pii/presidio_synth_v2.jsonl [--limit N] [--part all|first|second]
        [--iou 0.5] [--json]

Runs the detector that ingestion uses (cleanroom.pii.engine.detect_many, batched like redact_many) in two settings:
(a) every entity type that presidio-research's label mapping covers and Presidio can output, comparable with the
published figures; (b) only the types the default policy redacts. Matching is span-level, as presidio-research's
SpanEvaluator does it: spans are trimmed of edge whitespace/punctuation, adjacent spans separated only by
whitespace/punctuation are merged, and a prediction matches an annotation when their character IoU >= --iou.
Overall figures ignore the entity type (PII vs not PII, as SpanEvaluator's global score); per-type figures require
the same type. F2 weights recall twice as much as precision.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from cleanroom.pii.redaction import Span

# One thread, so that chars_per_s is a per-core figure (set before numpy/torch are imported).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# presidio-research's mapping from dataset labels to Presidio entity types (PresidioAnalyzerWrapper.
# presidio_entities_map), restricted to the labels this dataset family uses.
PRESIDIO_RESEARCH_MAP: dict[str, str] = {
    "PER": "PERSON",
    "PERSON": "PERSON",
    "FIRST_NAME": "PERSON",
    "LAST_NAME": "PERSON",
    "LOC": "LOCATION",
    "LOCATION": "LOCATION",
    "GPE": "LOCATION",
    "FACILITY": "LOCATION",
    "CITY": "LOCATION",
    "ADDRESS": "LOCATION",
    "STREET_ADDRESS": "LOCATION",
    "NATIONALITY": "LOCATION",
    "ZIP": "ZIP_CODE",
    "ZIP_CODE": "ZIP_CODE",
    "ORG": "ORGANIZATION",
    "ORGANIZATION": "ORGANIZATION",
    "NORP": "NRP",
    "NRP": "NRP",
    "AGE": "AGE",
    "ID": "ID",
    "TITLE": "TITLE",
    "PREFIX": "TITLE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "IBAN": "IBAN_CODE",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
    "DATE_TIME": "DATE_TIME",
    "BIRTHDAY": "DATE_TIME",
    "DATE_OF_BIRTH": "DATE_TIME",
    "DOB": "DATE_TIME",
    "PHONE": "PHONE_NUMBER",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "DOMAIN_NAME": "URL",
    "URL": "URL",
    "DOMAIN": "URL",
    "EMAIL": "EMAIL_ADDRESS",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "IP_ADDRESS": "IP_ADDRESS",
    "SSN": "US_SSN",
    "US_SSN": "US_SSN",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
}
# Mapped types Presidio has no recognizer for (TITLE, AGE, ZIP_CODE, ID) count as "O", as presidio-research does
# for entities outside the model's supported set.
COMPARABLE_ENTITIES: frozenset[str] = frozenset(
    {
        "PERSON",
        "LOCATION",
        "ORGANIZATION",
        "NRP",
        "DATE_TIME",
        "CREDIT_CARD",
        "PHONE_NUMBER",
        "EMAIL_ADDRESS",
        "URL",
        "IBAN_CODE",
        "US_SSN",
        "IP_ADDRESS",
        "US_DRIVER_LICENSE",
    }
)
_EDGE = " \t\r\n.,;:!?\"'()[]{}<>-–—/"


@dataclass(frozen=True)
class Item:
    start: int
    end: int
    entity_type: str


def trim(text: str, item: Item) -> Item | None:
    start, end = item.start, item.end
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return Item(start, end, item.entity_type) if end > start else None


def merge_adjacent(text: str, items: list[Item], *, typed: bool) -> list[Item]:
    """Join spans separated only by whitespace/punctuation ("John" "Smith" -> "John Smith"); with typed, only spans
    of one type."""
    merged: list[Item] = []
    for item in sorted(items, key=lambda i: (i.start, i.end)):
        if merged:
            last = merged[-1]
            gap = text[last.end : item.start] if item.start > last.end else ""
            same = last.entity_type == item.entity_type or not typed
            if same and (item.start <= last.end or all(ch in _EDGE for ch in gap)):
                merged[-1] = Item(last.start, max(last.end, item.end), last.entity_type)
                continue
        merged.append(item)
    return merged


def iou(a: Item, b: Item) -> float:
    inter = min(a.end, b.end) - max(a.start, b.start)
    if inter <= 0:
        return 0.0
    return inter / (max(a.end, b.end) - min(a.start, b.start))


def match_count(gold: list[Item], pred: list[Item], *, threshold: float) -> int:
    """Greedy one-to-one matching, best IoU first."""
    pairs = sorted(
        ((iou(g, p), gi, pi) for gi, g in enumerate(gold) for pi, p in enumerate(pred)),
        reverse=True,
    )
    used_g: set[int] = set()
    used_p: set[int] = set()
    for value, gi, pi in pairs:
        if value < threshold or value == 0.0:
            break
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
    return len(used_g)


def prf(tp: int, n_pred: int, n_gold: int, beta: float = 2.0) -> tuple[float, float, float]:
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_gold if n_gold else 1.0
    b2 = beta * beta
    denom = b2 * precision + recall
    return precision, recall, ((1 + b2) * precision * recall / denom if denom else 0.0)


@dataclass
class Tally:
    tp: int = 0
    n_pred: int = 0
    n_gold: int = 0

    def add(self, tp: int, n_pred: int, n_gold: int) -> None:
        self.tp += tp
        self.n_pred += n_pred
        self.n_gold += n_gold

    def scores(self) -> dict[str, float | int]:
        p, r, f2 = prf(self.tp, self.n_pred, self.n_gold)
        return {"precision": round(p, 4), "recall": round(r, 4), "f2": round(f2, 4), "gold": self.n_gold}


def evaluate(
    records: list[dict], predictions: list[list[Item]], *, wanted: frozenset[str], threshold: float
) -> tuple[Tally, Tally, dict[str, Tally]]:
    """(type-agnostic overall, typed overall, per type)."""
    overall, typed_overall = Tally(), Tally()
    per_type: dict[str, Tally] = defaultdict(Tally)
    for record, raw_pred in zip(records, predictions, strict=True):
        text = record["text"]
        gold_raw = [
            Item(s["start"], s["end"], PRESIDIO_RESEARCH_MAP.get(s["label"], s["label"])) for s in record["spans"]
        ]
        gold = [t for g in gold_raw if g.entity_type in wanted and (t := trim(text, g))]
        pred = [t for p in raw_pred if (t := trim(text, p))]
        g_all, p_all = merge_adjacent(text, gold, typed=False), merge_adjacent(text, pred, typed=False)
        overall.add(match_count(g_all, p_all, threshold=threshold), len(p_all), len(g_all))
        g_typed, p_typed = merge_adjacent(text, gold, typed=True), merge_adjacent(text, pred, typed=True)
        for entity in {i.entity_type for i in g_typed} | {i.entity_type for i in p_typed}:
            g = [i for i in g_typed if i.entity_type == entity]
            p = [i for i in p_typed if i.entity_type == entity]
            tp = match_count(g, p, threshold=threshold)
            per_type[entity].add(tp, len(p), len(g))
            typed_overall.add(tp, len(p), len(g))
    return overall, typed_overall, dict(per_type)


def stock_detector() -> Callable[..., list[list[Span]]]:
    """Stock Presidio with the same spaCy model, one analyze() per text: the baseline. Only its e-mail recognizer is
    swapped for the offline one (the stock one would try to download the public suffix list)."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from cleanroom.pii.engine import SPACY_MODEL, _offline_email_recognizer
    from cleanroom.pii.redaction import Span

    nlp_engine = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}
    ).create_engine()
    engine = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    engine.registry.remove_recognizer("EmailRecognizer")
    engine.registry.add_recognizer(_offline_email_recognizer())

    def detect(texts: list[str], *, entities: frozenset[str]) -> list[list[Span]]:
        return [
            [
                Span(r.start, r.end, r.entity_type, r.score)
                for r in engine.analyze(text=t, language="en", entities=list(entities), score_threshold=0.4)
            ]
            for t in texts
        ]

    detect(["Warm-up: John Smith called 555-123-4567."], entities=frozenset({"PERSON"}))
    return detect


def run_setting(
    records: list[dict],
    *,
    entities: frozenset[str],
    threshold: float,
    detector: Callable[..., list[list[Span]]] | None = None,
) -> tuple[dict, dict[str, dict], float]:
    from cleanroom.pii.engine import detect_many
    from cleanroom.pii.redaction import resolve_overlaps

    texts = [r["text"] for r in records]
    started, cpu_started = time.perf_counter(), time.process_time()
    spans = (detector or detect_many)(texts, entities=entities)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # Score what is actually redacted: overlapping detections resolved as apply_redactions resolves them.
    predictions = [[Item(s.start, s.end, s.entity_type) for s in resolve_overlaps(doc)] for doc in spans]
    overall, typed, per_type = evaluate(records, predictions, wanted=entities, threshold=threshold)
    chars = sum(map(len, texts))
    # Per core: characters per CPU-second of this single-threaded process, so that other work on a shared machine
    # does not count against it; the wall-clock figure is kept beside it.
    summary = {**overall.scores(), "chars_per_s": round(chars / cpu), "wall_chars_per_s": round(chars / elapsed)}
    summary["typed"] = typed.scores()
    return summary, {k: v.scores() for k, v in sorted(per_type.items())}, elapsed


def load(path: Path, *, limit: int | None, part: str) -> list[dict]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    half = len(records) // 2
    records = {"all": records, "first": records[:half], "second": records[half:]}[part]
    return records[:limit] if limit else records


def _print_setting(name: str, summary: dict, per_type: dict[str, dict]) -> None:
    print(f"\n== {name}")
    print(
        f"overall (any PII type): precision {summary['precision']:.3f}  recall {summary['recall']:.3f}  "
        f"F2 {summary['f2']:.3f}   ({summary['chars_per_s']:,} chars per CPU-second, "
        f"{summary['wall_chars_per_s']:,} per wall-clock second)"
    )
    t = summary["typed"]
    print(f"overall (type must match): precision {t['precision']:.3f}  recall {t['recall']:.3f}  F2 {t['f2']:.3f}")
    print(f"{'entity':<22}{'gold':>6}{'prec':>8}{'recall':>8}{'F2':>8}")
    for entity, s in per_type.items():
        print(f"{entity:<22}{s['gold']:>6}{s['precision']:>8.3f}{s['recall']:>8.3f}{s['f2']:>8.3f}")


def retrieval_proxy(corpus: Path, *, limit: int) -> dict:
    """How much of ordinary, person-free text the default policy removes (scientific abstracts: few people, many
    capitalised terms and numbers). Every removed word is lost to retrieval. Uses only redact_many, so the same
    measurement runs against older versions of the engine."""
    import re

    from cleanroom.pii.engine import redact_many
    from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES

    docs = []
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            docs.append(f"{doc.get('title', '')}\n{doc.get('text', '')}")
            if len(docs) >= limit:
                break
    redacted, counts = redact_many(docs, entities=DEFAULT_REDACT_ENTITIES)
    placeholder = re.compile(r"<[A-Z_]+>")
    words = sum(len(d.split()) for d in docs)
    kept = sum(len(placeholder.sub(" ", r).split()) for r in redacted)
    touched = sum(1 for d, r in zip(docs, redacted, strict=True) if d != r)
    return {
        "documents": len(docs),
        "words": words,
        "words_removed_pct": round(100 * (words - kept) / words, 3),
        "documents_touched": touched,
        "placeholders": counts,
    }


def india_recall(per_kind: int, seed: int = 20261125) -> dict[str, dict[str, float]]:
    """Recall per kind on the generated Indian set (tests/helpers/india_set.py): `redacted` when every letter and digit
    of the value is inside a redaction (an honorific before a name may stay), `typed` when also with its type."""
    import random
    import re

    from cleanroom.pii.engine import detect_many
    from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES
    from cleanroom.pii.redaction import resolve_overlaps
    from tests.helpers.india_set import build, invalid_aadhaar_lookalikes

    rng = random.Random(seed)
    samples = build(rng, per_kind)
    honorific = re.compile(r"^(?:Shri|Smt|Sri|Dr|Mr|Mrs|Ms|Kumari|Prof)$")
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    spans = detect_many([s.text for s in samples], entities=DEFAULT_REDACT_ENTITIES)
    for sample, found in zip(samples, spans, strict=True):
        chosen = resolve_overlaps(found)
        covered = {i for span in chosen for i in range(span.start, span.end)}
        start = sample.text.index(sample.value)
        needed = [
            start + m.start() + k
            for m in re.finditer(r"[^\W_]+", sample.value)
            if not honorific.match(m.group(0))
            for k in range(len(m.group(0)))
        ]
        row = tally[sample.kind]
        row[0] += 1
        if all(i in covered for i in needed):
            row[1] += 1
            row[2] += any(s.entity_type == sample.kind and s.start <= min(needed) < s.end for s in chosen)
    lookalikes = invalid_aadhaar_lookalikes(rng, per_kind)
    wrong = sum(
        any(s.entity_type == "IN_AADHAAR" for s in found)
        for found in detect_many(lookalikes, entities=DEFAULT_REDACT_ENTITIES)
    )
    result = {
        kind: {"n": n, "redacted": round(r / n, 4), "typed": round(t / n, 4)} for kind, (n, r, t) in tally.items()
    }
    result["invalid_aadhaar_called_aadhaar"] = {"n": len(lookalikes), "rate": wrong / len(lookalikes)}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path)
    parser.add_argument("--india", type=int, metavar="N", help="recall on N generated samples per Indian kind")
    parser.add_argument("--retrieval-proxy", type=Path, metavar="CORPUS_JSONL", help="SciFact-style corpus.jsonl")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--part", choices=["all", "first", "second"], default="all")
    parser.add_argument("--iou", type=float, default=0.5, help="character IoU needed for a match")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--baseline", action="store_true", help="also run stock Presidio on the same texts")
    args = parser.parse_args(argv)
    if args.retrieval_proxy:
        print(json.dumps(retrieval_proxy(args.retrieval_proxy, limit=args.limit or 1000)))
        return
    if args.india:
        for kind, row in india_recall(args.india).items():
            print(f"{kind:<34}{json.dumps(row)}")
        return
    if not args.dataset:
        parser.error("--dataset is required")

    from cleanroom.pii.engine import analyzer_engine, detect_many, detector_version
    from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES

    records = load(args.dataset, limit=args.limit, part=args.part)
    analyzer_engine()
    detect_many(["Warm-up: John Smith called 555-123-4567."], entities=COMPARABLE_ENTITIES)
    a, a_types, _ = run_setting(records, entities=COMPARABLE_ENTITIES, threshold=args.iou)
    b, b_types, _ = run_setting(records, entities=frozenset(DEFAULT_REDACT_ENTITIES), threshold=args.iou)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(records)} documents, {sum(len(r['text']) for r in records):,} chars; {detector_version()}")
    print(f"matching: character IoU >= {args.iou}; 1 process, 1 thread; peak RSS {peak_mb:.0f} MB")
    _print_setting("(a) presidio-research mapping, all comparable types", a, a_types)
    _print_setting("(b) default policy types (what is redacted)", b, b_types)
    if args.baseline:
        stock = stock_detector()
        sa, sa_types, _ = run_setting(records, entities=COMPARABLE_ENTITIES, threshold=args.iou, detector=stock)
        sb, sb_types, _ = run_setting(
            records, entities=frozenset(DEFAULT_REDACT_ENTITIES), threshold=args.iou, detector=stock
        )
        _print_setting("baseline: stock Presidio, setting (a)", sa, sa_types)
        _print_setting("baseline: stock Presidio, setting (b)", sb, sb_types)
        print(f"\nspeed, this detector / stock Presidio in this run: {a['chars_per_s'] / sa['chars_per_s']:.2f}x (a)")
    if args.json:
        keys = ("precision", "recall", "f2", "chars_per_s", "wall_chars_per_s")
        out = {k: a[k] for k in keys} | {"policy": {k: b[k] for k in keys}}
        out |= {"per_type": a_types, "policy_per_type": b_types, "peak_rss_mb": round(peak_mb)}
        print(json.dumps(out))


if __name__ == "__main__":
    main()
