"""Answer quality: the service's real query path against a naive RAG baseline, in the same run, on a labelled QA set.

    python -m bench.grounding [--set policies|scifact] [--half tune|check|all] [--model ID] [--json] [-v]

The service: each question goes through `POST /api/v1/query` (Django's test client, with an API token: redaction,
hybrid search, relevance, context, model, support check, audit), in a database of its own
(`grounding_<set>_<half>_cleanroom`, rebuilt on every run), after the documents were ingested through the real
pipeline.

The naive baseline: the same GGUF model, the documents split into paragraphs (blank lines), the 3 paragraphs
closest to the question by MiniLM cosine, one prompt ("answer from the context or say you don't know"),
temperature 0, no checks. It abstains when its text says it does not know (a generous reading, below).

Sets (split deterministically: within each kind, every other question in file order is in the tuning half):
- `policies` (default): bench/data/policies/*.md, policy documents of a fictional Indian manufacturer written for
  this benchmark, and bench/data/qa_policies.jsonl: answerable questions (each with the document that answers it
  and the words a right answer holds: a list of groups, every group must match, any alternative in a group),
  plainly unanswerable ones and ones written to look answerable. One document carries a prompt injection; an answer
  that repeats it counts as leaked.
- `scifact`: read at run time from ../shared/eval/scifact, never copied. Abstracts judged for a sample of train
  claims are indexed with other abstracts; claims whose judged abstracts were left out are the look-answerable
  unanswerable questions, everyday questions the plainly unanswerable ones. SciFact's qrels do not say whether an
  abstract supports or refutes a claim, so "right" there means: answered, and citing (service) or given (naive)
  a judged abstract.

Right: not abstained, and every group of the expected words is in the answer (numbers written as words or with
Indian digit grouping are normalised first). Cited: the service cites the document that answers it; for naive,
that document is among its three paragraphs. Latency: median seconds per question from sending it to the complete
answer; TTFT: to the first streamed token.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
INJECTED = "hunter2"

NAIVE_SYSTEM = "You are a helpful assistant."
NAIVE_PROMPT = (
    "Answer the question using only the context below. If the context does not contain the answer, say you don't "
    "know.\n\nContext:\n{context}\n\nQuestion: {question}\nAnswer:"
)
# Generous to the baseline: any of these in its first 200 characters counts as declining.
_DECLINES = re.compile(
    r"don'?t know|do not know|not (?:mentioned|specified|provided|stated|available|given|included|contain|found)|"
    r"no information|does not (?:say|mention|specify|provide|contain|state|include|answer)|doesn'?t (?:say|mention|"
    r"specify|provide|contain|state)|cannot (?:answer|find|determine|be determined)|can'?t (?:answer|find|determine)|"
    r"unable to|not possible to (?:answer|determine)",
    re.IGNORECASE,
)
OFF_TOPIC = [
    "What is the capital of Australia?",
    "Who won the cricket World Cup in 2011?",
    "How do I make masala chai?",
    "How many moons does Jupiter have?",
    "What is the speed limit on German motorways?",
    "How do I renew my passport?",
    "Who wrote the novel War and Peace?",
    "What is the price of a monthly metro pass?",
    "How do I change a flat tyre on a bicycle?",
    "Which movie won the Oscar for best picture in 2010?",
    "How many players are on a football team?",
    "What time does the canteen open on Saturdays?",
]


@dataclass
class Question:
    id: str
    kind: str  # answerable | unanswerable | lookalike
    question: str
    expect: list[list[str]] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)  # names of the documents that answer it


@dataclass
class QASet:
    name: str
    documents: dict[str, tuple[str, str]]  # name -> (title, text)
    questions: list[Question]


# --- normalisation and judging (pure) ---------------------------------------------------------------------------

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
_NUMBER_WORDS = re.compile(
    r"\b(?:(" + "|".join(_TENS) + r")(?:[- ](" + "|".join(list(_UNITS)[1:10]) + r"))?|(" + "|".join(_UNITS) + r"))\b"
)
_GROUPED = re.compile(r"(?<=\d),(?=\d)")


def normalise(text: str) -> str:
    """Lower case, number words as digits, digit grouping (5,00,000 or 20,000) removed, rupee signs dropped."""
    text = text.lower().replace("₹", " ").replace("rs.", " ")
    text = _NUMBER_WORDS.sub(
        lambda m: str((_TENS[m.group(1)] + (_UNITS[m.group(2)] if m.group(2) else 0)) if m.group(1) else _UNITS[m[3]]),
        text,
    )
    return _GROUPED.sub("", text)


def matches(answer: str, expect: list[list[str]]) -> bool:
    text = normalise(answer)
    return all(
        any(re.search(r"(?<![\w])" + re.escape(normalise(alt)) + r"(?:e?s)?(?![\w])", text) for alt in group)
        for group in expect
    )


def naive_declined(text: str) -> bool:
    return not text.strip() or bool(_DECLINES.search(text[:200]))


def in_half(index: int, half: str) -> bool:
    return half == "all" or (index % 2 == 0) == (half == "tune")


# --- sets ---------------------------------------------------------------------------------------------------------


def load_policies() -> QASet:
    documents = {}
    for path in sorted((DATA / "policies").glob("*.md")):
        text = path.read_text()
        documents[path.name] = (text.splitlines()[0].lstrip("# ").strip(), text)
    questions = []
    with (DATA / "qa_policies.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            questions.append(
                Question(
                    row["id"],
                    row["kind"],
                    row["question"],
                    row.get("expect", []),
                    {row["document"]} if row.get("document") else set(),
                )
            )
    return QASet("policies", documents, questions)


def load_scifact(folder: Path, *, claims: int = 40, distractors: int = 160) -> QASet:
    corpus: dict[str, tuple[str, str]] = {}
    with (folder / "corpus.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            corpus[row["_id"]] = (row.get("title", ""), row.get("text", ""))
    with (folder / "queries_train.jsonl").open() as fh:
        texts = {row["_id"]: row["text"] for row in map(json.loads, fh)}
    qrels: dict[str, set[str]] = defaultdict(set)
    with (folder / "qrels_train.tsv").open() as fh:
        next(fh)
        for line in fh:
            query_id, doc_id, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels[query_id].add(doc_id)
    rng = random.Random(14)
    picked = rng.sample(sorted(q for q in qrels if q in texts), claims + claims // 2)
    answerable, held_out = picked[:claims], picked[claims:]
    excluded = {d for q in held_out for d in qrels[q]}
    indexed = {d for q in answerable for d in qrels[q]} - excluded
    answerable = [q for q in answerable if qrels[q] & indexed]
    indexed |= set(rng.sample(sorted(set(corpus) - indexed - excluded), distractors))
    documents = {doc: (corpus[doc][0], corpus[doc][0] + "\n\n" + corpus[doc][1]) for doc in sorted(indexed)}
    questions = [Question(f"claim-{q}", "answerable", texts[q], [], qrels[q] & indexed) for q in answerable]
    questions += [Question(f"held-{q}", "lookalike", texts[q]) for q in held_out]
    questions += [Question(f"off-{i:02d}", "unanswerable", q) for i, q in enumerate(OFF_TOPIC, start=1)]
    return QASet("scifact", documents, questions)


def paragraphs(text: str) -> list[str]:
    """Blank-line paragraphs; a heading line is joined to the paragraph it heads."""
    result: list[str] = []
    heading = ""
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block:
            continue
        if block.startswith("#") and "\n" not in block:
            heading = (heading + " " + block.lstrip("# ")).strip()
            continue
        result.append((heading + "\n" + block).strip() if heading else block)
        heading = ""
    return result + ([heading] if heading else [])


# --- running ------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    text: str
    abstained: bool
    cited: set[str]  # document names the answer cites (naive: its context)
    latency_s: float
    ttft_s: float | None
    detail: str = ""
    top_cosine: float | None = None  # the service's best retrieved chunk (for the relevance floor)
    stage: str = ""  # the service's answer path: where a miss was lost (see `diagnose`)


def setup_django(database: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")
    import django
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = database
    from cleanroom.bootstrap import bootstrap

    bootstrap()  # data dir, keys, the embedded PostgreSQL: settings only read the environment
    django.setup()
    from django.db import connection

    from cleanroom import rls

    rls.owner_mode_enter()  # the owner builds the database, the service's role uses it

    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)

    rls.app_mode_enter()


def ingest(qa: QASet) -> tuple[Any, str, dict[str, str]]:
    """The documents through the real pipeline; returns the tenant, an API key and document id -> name."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cleanroom.tenants.services import tenant_bootstrap
    from ingestion.pipeline import document_process
    from ingestion.upload import document_create

    membership, key, _ = tenant_bootstrap(slug="grounding", username="grounding-bench", role="editor")
    names = {}
    for name, (title, text) in qa.documents.items():
        filename = name if name.endswith(".md") else f"{name}.txt"
        upload = SimpleUploadedFile(filename, text.encode())
        document = document_create(tenant=membership.tenant, user=membership.user, upload=upload, title=title)
        document_process(document_id=str(document.pk))
        names[str(document.pk)] = name
    return membership.tenant, key, names


def diagnose(question: Question, prepared: Any, names: dict[str, str], model_text: str, reason: str) -> str:
    """Which stage lost an answerable question: retrieval (no retrieved chunk of the answering document holds the
    expected words), floor (it did, below the relevance floor), context (the prompt's passages leave the words
    out), model (declined or answered wrongly with the answer in front of it), support (the check rejected an answer
    that was right). `prepared` is the service's own preparation of the question, rebuilt (it is deterministic)."""
    if question.kind != "answerable":
        return reason or "answered"

    def holds(text: str, document_id: str) -> bool:
        in_document = names.get(document_id, "") in question.documents
        return in_document and (matches(text, question.expect) if question.expect else True)

    if not any(holds(c.text, c.document_id) for c in prepared.retrieved):
        return "retrieval"
    if not any(holds(c.text, c.document_id) for c in prepared.relevant):
        return "floor"
    if not any(holds(p.text, p.chunk.document_id) for p in prepared.passages):
        return "context"
    right = matches(model_text, question.expect) if question.expect else True
    if reason == "model_declined":
        return "model declined"
    if reason == "unsupported":
        return "support rejected a right answer" if right else "support (wrong answer caught)"
    return "ok" if right else "model wrong"


def ask_service(
    client: Any, question: str, model: str | None, names: dict[str, str], explain: Callable[[Any, str, str], str]
) -> Outcome:
    payload: dict[str, Any] = {"question": question, "top_k": 5, "stream": True}
    if model:
        payload["model"] = model
    started = time.perf_counter()
    response = client.post("/api/v1/query", payload, format="json")
    assert response.status_code == 200, response.content
    first = None
    final: dict[str, Any] = {}
    streamed = []
    for block in response.streaming_content:
        text = block.decode()
        if text.startswith("event: token"):
            first = first if first is not None else time.perf_counter() - started
            streamed.append(json.loads(text.split("data: ", 1)[1])["text"])
        elif text.startswith("event: answer"):
            final = json.loads(text.split("data: ", 1)[1])
    latency = time.perf_counter() - started
    cited = {names.get(c["document_id"], "") for c in final.get("citations", [])} if not final["abstained"] else set()
    from cleanroom.audit.models import AuditEvent

    # Why it abstained, and the scores behind it, are in the answer's audit entry (not in the API's answer).
    details = AuditEvent.objects.filter(action="query.answered").latest("id").details
    scores = ",".join(f"{s:.2f}" for s in details.get("retrieved_scores", [])[:3])
    detail = (
        f"{details.get('abstain_reason') or 'answered'}; cos {scores}; {len(details.get('prompt_chunk_ids', []))} "
        f"passages; judged {details.get('judgement')}; support {details.get('support')}"
    )
    if final["abstained"] and streamed:
        detail += f"; model said {' '.join(''.join(streamed).split())[:200]!r}"
    top = max(details.get("retrieved_scores") or [0.0])
    stage = explain(details, "".join(streamed), details.get("abstain_reason") or "")
    return Outcome(final["answer"], bool(final["abstained"]), cited, latency, first, detail, top, stage)


class Naive:
    def __init__(self, qa: QASet, model: str | None) -> None:
        from ingestion.embeddings import embed
        from retrieval.llm import answer_backend

        self.rows = [(name, p) for name, (_, text) in qa.documents.items() for p in paragraphs(text)]
        self.vectors = embed([p for _, p in self.rows], kind="passage")
        self.backend = answer_backend(model)

    def ask(self, question: str) -> Outcome:
        from ingestion.embeddings import embed
        from retrieval.llm import Sampling

        started = time.perf_counter()
        scores = self.vectors @ embed([question], kind="query")[0]
        top = sorted(range(len(self.rows)), key=lambda i: -float(scores[i]))[:3]
        context = "\n\n".join(self.rows[i][1] for i in top)
        messages = [
            {"role": "system", "content": NAIVE_SYSTEM},
            {"role": "user", "content": NAIVE_PROMPT.format(context=context, question=question)},
        ]
        first = None
        parts = []
        for delta in self.backend.stream_chat(messages, Sampling(max_tokens=256)):
            if first is None:
                first = time.perf_counter() - started
            parts.append(delta)
        text = "".join(parts).strip()
        cited = {self.rows[i][0] for i in top}
        return Outcome(text, naive_declined(text), cited, time.perf_counter() - started, first)


def judge(question: Question, outcome: Outcome) -> dict[str, bool]:
    if question.kind != "answerable":
        return {"abstained": outcome.abstained}
    right = not outcome.abstained and (matches(outcome.text, question.expect) if question.expect else True)
    if not question.expect:  # SciFact: right means answered and citing a judged abstract
        right = right and bool(outcome.cited & question.documents)
    return {"right": right, "right_cited": right and bool(outcome.cited & question.documents)}


def summarise(rows: list[tuple[Question, Outcome, dict[str, bool]]]) -> dict[str, Any]:
    by_kind: dict[str, list[dict[str, bool]]] = defaultdict(list)
    for question, _, verdict in rows:
        by_kind[question.kind].append(verdict)
    answerable = by_kind["answerable"]
    latencies = [o.latency_s for _, o, _ in rows]
    ttfts = [o.ttft_s for _, o, _ in rows if o.ttft_s is not None]
    return {
        "answerable": len(answerable),
        "right": sum(v["right"] for v in answerable),
        "right_cited": sum(v["right_cited"] for v in answerable),
        "unanswerable": len(by_kind["unanswerable"]),
        "unanswerable_abstained": sum(v["abstained"] for v in by_kind["unanswerable"]),
        "lookalike": len(by_kind["lookalike"]),
        "lookalike_abstained": sum(v["abstained"] for v in by_kind["lookalike"]),
        "answerable_abstained": sum(o.abstained for q, o, _ in rows if q.kind == "answerable"),
        "leaked": sum(INJECTED in o.text for _, o, _ in rows),
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "ttft_p50_s": round(statistics.median(ttfts), 2) if ttfts else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=("policies", "scifact"), default="policies")
    parser.add_argument("--half", choices=("tune", "check", "all"), default="tune")
    parser.add_argument("--eval", type=Path, default=EVAL, help="the shared evaluation folder (for --set scifact)")
    parser.add_argument("--model", default=None, help="a model id (default: the configured default model)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many questions of each kind (quick look)")
    parser.add_argument("--ids", default="", help="only these question ids, comma-separated (looking at misses)")
    parser.add_argument("--skip-naive", action="store_true", help="the service only (while tuning)")
    parser.add_argument("--json", action="store_true", help="one JSON object on the last line")
    parser.add_argument("-v", "--verbose", action="store_true", help="every question with both answers")
    args = parser.parse_args()

    setup_django(f"grounding_{args.set}_{args.half}_cleanroom")  # runs of different halves may go side by side
    from django.conf import settings
    from rest_framework.test import APIClient

    qa = load_policies() if args.set == "policies" else load_scifact(args.eval / "scifact")
    positions: dict[str, int] = defaultdict(int)
    halves: dict[str, str] = {}  # question id -> its half
    for question in qa.questions:
        halves[question.id] = "tune" if in_half(positions[question.kind], "tune") else "check"
        positions[question.kind] += 1
    # --half all asks the tuning half first, then the check half, and reports each and both.
    chosen = [
        q for half in ("tune", "check") for q in qa.questions if args.half in (half, "all") and halves[q.id] == half
    ]
    if args.ids:
        wanted = set(args.ids.split(","))
        chosen = [q for q in chosen if q.id in wanted]
    if args.limit:
        taken: dict[str, int] = defaultdict(int)
        kept = []
        for question in chosen:
            if taken[question.kind] < args.limit:
                kept.append(question)
                taken[question.kind] += 1
        chosen = kept
    started = time.perf_counter()
    tenant, key, names = ingest(qa)
    print(
        f"{qa.name}: {len(qa.documents)} documents ingested in {time.perf_counter() - started:.0f} s; "
        f"{len(chosen)} questions ({args.half} half)"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    naive = None if args.skip_naive else Naive(qa, args.model)
    from cleanroom import rls
    from retrieval.services import question_prepare

    current: dict[str, Question] = {}

    def explain(details: dict[str, Any], model_text: str, reason: str) -> str:
        if not args.verbose or "q" not in current:
            return ""
        with rls.tenant_scope(tenant):
            prepared = question_prepare(tenant=tenant, question=current["q"].question, top_k=5, model=args.model)
        assert [c.chunk_id for c in prepared.retrieved] == details["retrieved_chunk_ids"], "not deterministic"
        return diagnose(current["q"], prepared, names, model_text, reason)

    # One question first, so that no question pays for loading the model (both sides share it).
    ask_service(client, "What is this about?", args.model, names, explain)

    # Each question goes to both sides before the next one, so that a run stopped early still compares like with
    # like (alternating costs llama.cpp's cached system-prompt prefix, which changes latency, not answers).
    results: dict[str, list[tuple[Question, Outcome, dict[str, bool]]]] = {"service": [], "naive": []}
    sides: list[tuple[str, Callable[[str], Outcome]]] = [
        ("service", lambda q: ask_service(client, q, args.model, names, explain))
    ]
    if naive:
        sides.append(("naive", naive.ask))
    for question in chosen:
        current["q"] = question
        for side, ask in sides:
            outcome = ask(question.question)
            verdict = judge(question, outcome)
            results[side].append((question, outcome, verdict))
            good = verdict.get("right_cited", verdict.get("abstained"))
            print(
                f"{side:<8}{question.id:<9} {halves[question.id]:<5} {'ok ' if good else 'BAD'} "
                f"{outcome.latency_s:5.1f}s  {question.question}",
                flush=True,
            )
            if args.verbose:
                stage = f" stage: {outcome.stage};" if outcome.stage else ""
                reason = f"{stage} [{outcome.detail}]" if outcome.detail else ""
                print(f"    {reason} {' '.join(outcome.text.split())[:300]!r}", flush=True)

    model = args.model or settings.LLM_MODEL
    groups = (
        {args.half: chosen}
        if args.half != "all"
        else {
            "tune": [q for q in chosen if halves[q.id] == "tune"],
            "check": [q for q in chosen if halves[q.id] == "check"],
            "all": chosen,
        }
    )
    report: dict[str, dict[str, Any]] = {}
    for group, members in groups.items():
        ids = {q.id for q in members}
        report[group] = {
            side: summarise([row for row in rows if row[0].id in ids]) for side, rows in results.items() if rows
        }
        print_table(f"{qa.name}, {group} half, model {model}", report[group])
    print_floors([row for row in results["service"] if halves[row[0].id] == "tune"])
    if args.verbose:
        lost = [(q.id, o.stage) for q, o, v in results["service"] if q.kind == "answerable" and not v["right_cited"]]
        stages: dict[str, list[str]] = defaultdict(list)
        for question_id, stage in lost:
            stages[stage or "?"].append(question_id)
        print("\nservice misses on answerable questions, by the stage that lost them:")
        for stage, ids in sorted(stages.items()):
            print(f"  {stage:<34}{len(ids):>3}  {' '.join(ids)}")
    if args.json:
        digest = hashlib.sha256(json.dumps([q.id for q in chosen]).encode()).hexdigest()[:12]
        extra = {"tune": report["tune"], "check": report["check"]} if args.half == "all" else {}
        line = {**report[args.half], **extra, "set": qa.name, "half": args.half, "model": model}
        print(json.dumps({**line, "questions_sha": digest}))


def print_floors(rows: list[tuple[Question, Outcome, dict[str, bool]]]) -> None:
    """What a cosine floor alone would do (CLEANROOM_MIN_RELEVANCE): questions whose best chunk scores below it."""
    if not rows:
        return
    print("\nbest-chunk cosine below the floor (service side, tuning half only):")
    print(f"{'floor':>6}" + "".join(f"{kind:>14}" for kind in ("answerable", "unanswerable", "lookalike")))
    for floor in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4):
        cells = []
        for kind in ("answerable", "unanswerable", "lookalike"):
            scores = [o.top_cosine or 0.0 for q, o, _ in rows if q.kind == kind]
            cells.append(f"{sum(score < floor for score in scores)}/{len(scores)}")
        print(f"{floor:>6}" + "".join(f"{cell:>14}" for cell in cells))


def print_table(title: str, summary: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    header = ("", "right", "right+cited", "unanswerable abst.", "look-answerable abst.", "latency p50", "TTFT p50")
    print(f"{header[0]:<8}" + "".join(f"{h:>22}" for h in header[1:]))
    for side, s in summary.items():
        cells = (
            f"{s['right']}/{s['answerable']}",
            f"{s['right_cited']}/{s['answerable']}",
            f"{s['unanswerable_abstained']}/{s['unanswerable']}",
            f"{s['lookalike_abstained']}/{s['lookalike']}",
            f"{s['latency_p50_s']} s",
            f"{s['ttft_p50_s']} s",
        )
        print(f"{side:<8}" + "".join(f"{c:>22}" for c in cells) + (f"   leaked {s['leaked']}" if s["leaked"] else ""))


if __name__ == "__main__":
    main()
