"""Question answering: retrieve, select the context, let a model answer, check the answer, audit it.

The service, not the model, decides when to abstain: when no passage is relevant enough (MIN_RELEVANCE, calibrated
on data), when the model itself declines, or when a sentence of its answer is not backed by the passages it cites.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User

from cleanroom.audit.services import audit_record
from cleanroom.policies.selectors import TenantPolicy, tenant_policy
from cleanroom.residency import check_processing_allowed
from cleanroom.tenants.models import Tenant
from ingestion.embeddings import embed, similarity_scale
from retrieval.llm import AnswerBackend, Sampling, answer_backend, model_check
from retrieval.prompting import (
    JUDGE_CHOICES,
    NO_ANSWER,
    Passage,
    SentenceSupport,
    answer_clean,
    answer_sentences,
    best_snippet,
    build_judge_messages,
    build_messages,
    build_rescue_messages,
    chunk_sentences,
    cited_numbers,
    is_abstention,
    may_be_decline,
    select_context,
    support_check,
)
from retrieval.search import question_redact
from retrieval.selectors import ScoredChunk, chunk_search

logger = logging.getLogger(__name__)

SNIPPET_CHARS = 300
CLOSEST_PASSAGES = 3


@dataclass
class Citation:
    number: int  # the [n] in the answer (for an abstention: rank among the closest passages)
    document_id: str
    chunk_id: int
    title: str
    snippet: str
    score: float

    @classmethod
    def from_chunk(cls, number: int, chunk: ScoredChunk, question: str) -> Citation:
        snippet = best_snippet(chunk.text, question, limit=SNIPPET_CHARS)
        return cls(number, chunk.document_id, chunk.chunk_id, chunk.title, snippet, chunk.score)


@dataclass
class Answer:
    answer: str
    citations: list[Citation]
    abstained: bool
    abstain_reason: str = ""  # no_relevant_passage | model_declined | unsupported
    question_redacted: str = ""
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class PreparedQuestion:
    """Everything decided before the model speaks: the redacted question, the passages, and the prompt."""

    tenant: Tenant
    policy: TenantPolicy
    question: str  # redacted
    retrieved: list[ScoredChunk]
    relevant: list[ScoredChunk]
    passages: list[Passage]
    neutralised: int
    messages: list[dict[str, str]]
    backend: AnswerBackend | None
    sampling: Sampling
    timings: dict[str, float]
    # The model's share of "A" when asked whether the passages answer this exact question (A) or not (B); None: not
    # asked.
    judgement: float | None = None
    rescued: bool = False  # the model declined, then answered the plain request (build_rescue_messages)

    @property
    def judged_unanswerable(self) -> bool:
        return self.judgement is not None and self.judgement < settings.ANSWER_JUDGE_FLOOR

    @property
    def judged_answerable(self) -> bool:
        return self.judgement is not None and self.judgement >= settings.ANSWER_JUDGE_TRUST

    @property
    def may_rescue(self) -> bool:
        """A plain decline is asked about once more (ANSWER_RESCUE_FLOOR)."""
        return self.judgement is not None and 0 <= settings.ANSWER_RESCUE_FLOOR <= self.judgement


def _cosine_rows(vectors: np.ndarray, target: np.ndarray) -> list[float]:
    # The embedder's vectors are unit length, so a dot product is the cosine.
    # On MiniLM's scale (similarity_scale): the context's and the support check's thresholds are MiniLM's.
    return [float(v) for v in similarity_scale(vectors @ target)] if len(vectors) else []


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def replay_fingerprint(messages: list[dict[str, str]], text: str) -> dict[str, Any]:
    """What an answer's audit entry records so that a replay (retrieval/replay.py) can be checked: digests, never
    the texts."""
    if not messages:
        return {"prompt_sha256": None, "output_sha256": None}
    return {"prompt_sha256": _sha(json.dumps(messages, sort_keys=True)), "output_sha256": _sha(text.strip())}


def prompt_build(
    question: str, question_vector: np.ndarray, relevant: list[ScoredChunk]
) -> tuple[list[Passage], int, list[dict[str, str]]]:
    """The passages (the sentences of the relevant chunks closest to the redacted question) and the prompt.
    Deterministic given its inputs, so that `audit replay` rebuilds the very prompt an answer was given."""
    sentence_lists = [chunk_sentences(chunk) for chunk in relevant]
    # Sentence against question is a symmetric comparison: both sides as queries (E5's model card; MiniLM ignores it).
    vectors = embed([sentence for sentences in sentence_lists for sentence in sentences], kind="query")
    similarities, offset = [], 0
    for sentences in sentence_lists:
        similarities.append(_cosine_rows(vectors[offset : offset + len(sentences)], question_vector))
        offset += len(sentences)
    context = select_context(question, relevant, similarities, budget_chars=settings.LLM_CONTEXT_CHARS)
    return context.passages, context.neutralised, build_messages(question, context.passages)


def question_prepare(
    *, tenant: Tenant, question: str, top_k: int, model: str | None = None, max_tokens: int | None = None
) -> PreparedQuestion:
    started = time.perf_counter()
    policy = tenant_policy(tenant=tenant)
    check_processing_allowed(policy, backend_region=settings.CLEANROOM_REGION, what="embedding model")
    model_check(model)  # an unknown model id is a 400 even when the answer would be an abstention
    # The question is redacted on arrival: what is searched, prompted, logged and audited has no personal data.
    # Both passes the stored passages had, so that a term only the second rewrites is a placeholder on both sides
    # (pseudonyms match the indexed passages' tokens).
    redacted = question_redact(tenant=tenant, question=question)
    timings = {"redact_s": time.perf_counter() - started}

    t = time.perf_counter()
    question_vector = embed([redacted], kind="query")[0]
    retrieved = chunk_search(tenant=tenant, query=redacted, query_vector=question_vector, k=top_k)
    timings["retrieve_s"] = time.perf_counter() - t
    relevant = [chunk for chunk in retrieved if chunk.score >= settings.MIN_RELEVANCE]

    passages: list[Passage] = []
    messages: list[dict[str, str]] = []
    neutralised = 0
    backend = None
    if relevant:
        # Resolved here, before any response is sent, so that a missing model or a forbidden region is a clean
        # 503/451 even for a streamed answer. With nothing relevant the service abstains without a model.
        backend = answer_backend(model)
        check_processing_allowed(policy, backend_region=backend.region, what="answer model")
        t = time.perf_counter()
        passages, neutralised, messages = prompt_build(redacted, question_vector, relevant)
        timings["select_s"] = time.perf_counter() - t
    answer_tokens = min(max_tokens or settings.LLM_MAX_ANSWER_TOKENS, settings.LLM_MAX_ANSWER_TOKENS)
    return PreparedQuestion(
        tenant=tenant,
        policy=policy,
        question=redacted,
        retrieved=retrieved,
        relevant=relevant,
        passages=passages,
        neutralised=neutralised,
        messages=messages,
        backend=backend if passages else None,
        sampling=Sampling(seed=settings.LLM_SEED, max_tokens=answer_tokens),
        timings=timings,
    )


def _windows(sentences: tuple[str, ...]) -> list[str]:
    # An answer sentence often joins two neighbouring passage sentences ("… five days, within three months").
    return list(sentences) + [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]


def _answer_support(
    text: str, passages: list[Passage], question: str = "", *, trusted: bool = False
) -> list[SentenceSupport]:
    """Words first; embeddings only for sentences the words alone do not back (paraphrases)."""
    lexical = support_check(text, passages, question=question, trusted=trusted)
    if all(row.supported for row in lexical):
        return lexical
    sentences = [sentence for sentence, _ in answer_sentences(text)]
    passage_sentences = [_windows(p.sentences) for p in passages]
    # Answer sentence against passage sentence: symmetric, both as queries.
    vectors = embed(sentences + [s for group in passage_sentences for s in group], kind="query")
    answer_vectors, rest = vectors[: len(sentences)], vectors[len(sentences) :]
    per_passage, offset = {}, 0
    for passage, group in zip(passages, passage_sentences, strict=True):
        per_passage[passage.number] = rest[offset : offset + len(group)]
        offset += len(group)
    similarities = [
        {
            number: float(similarity_scale(np.max(block @ vector))) if len(block) else -1.0
            for number, block in per_passage.items()
        }
        for vector in answer_vectors
    ]
    return support_check(text, passages, similarities, question=question, trusted=trusted)


def answer_finish(*, prepared: PreparedQuestion, user: User | None, text: str, completion_tokens: int = 0) -> Answer:
    """Turn the model's text into an answer with citations, decide abstention, and audit it."""
    text = answer_clean(text)
    support: list[SentenceSupport] = []
    reason = ""
    if not prepared.passages:
        reason = "no_relevant_passage"
    elif prepared.judged_unanswerable:
        reason = "judged_unanswerable"
    elif is_abstention(text):
        reason = "model_declined"
    else:
        # A rescued answer came from the plainer request: it gets the strict check, whatever the judgement.
        trusted = prepared.judged_answerable and not prepared.rescued
        support = _answer_support(text, prepared.passages, prepared.question, trusted=trusted)
        if not support or not all(row.supported for row in support):
            reason = "unsupported"
    if reason:
        answer_text = NO_ANSWER
        # Still show the closest passages, so a person can judge for themselves.
        citations = [
            Citation.from_chunk(rank, chunk, prepared.question)
            for rank, chunk in enumerate(prepared.retrieved[:CLOSEST_PASSAGES], start=1)
        ]
    else:
        answer_text = text
        numbers = cited_numbers(text, len(prepared.passages))
        # Sentences that cite nothing are credited to the passage that backs them best.
        for row in support:
            numbers += [n for n in row.cited if n not in numbers]
        by_number = {passage.number: passage for passage in prepared.passages}
        citations = [Citation.from_chunk(n, by_number[n].chunk, prepared.question) for n in numbers]
    backend = prepared.backend
    identity = backend.identity() if backend else {}
    audit_record(
        tenant=prepared.tenant,
        actor=user,
        action="query.answered",
        details={
            "question": prepared.question,
            "retrieved_chunk_ids": [chunk.chunk_id for chunk in prepared.retrieved],
            "retrieved_scores": [chunk.score for chunk in prepared.retrieved],
            "min_relevance": settings.MIN_RELEVANCE,
            "prompt_chunk_ids": [passage.chunk.chunk_id for passage in prepared.passages],
            "context_chars": settings.LLM_CONTEXT_CHARS,
            "neutralised_sentences": prepared.neutralised,
            "cited_chunk_ids": [citation.chunk_id for citation in citations],
            "abstained": bool(reason),
            "abstain_reason": reason or None,
            "support": [[row.coverage, row.similarity, row.supported] for row in support],
            "judgement": None if prepared.judgement is None else round(prepared.judgement, 4),
            "judge_floor": settings.ANSWER_JUDGE_FLOOR,
            "rescued": prepared.rescued,
            "model": identity.get("model"),
            "model_sha256": identity.get("model_sha256"),
            "model_backend": identity or None,
            "model_region": backend.region if backend else None,
            "sampling": prepared.sampling.as_dict() if backend else None,
            # Digests of the prompt and the output: `audit replay` rebuilds the prompt from the question and the
            # retrieved chunks (the selection is deterministic) and proves the answer reproduces.
            **replay_fingerprint(prepared.messages, text),
        },
    )
    return Answer(
        answer=answer_text,
        citations=citations,
        abstained=bool(reason),
        abstain_reason=reason,
        question_redacted=prepared.question,
        model=backend.model_id if backend else "",
        prompt_tokens=sum(len(m["content"]) for m in prepared.messages) // 4,
        completion_tokens=completion_tokens,
        timings=prepared.timings,
    )


@dataclass(frozen=True)
class Token:
    text: str


def answer_stream(*, prepared: PreparedQuestion, user: User | None) -> Iterator[Token | Answer]:
    """The model's tokens as they come, then the checked Answer (which may withdraw what was streamed)."""
    parts: list[str] = []
    t = time.perf_counter()
    if prepared.backend is not None and settings.ANSWER_JUDGE_FLOOR >= 0:
        prepared.judgement = prepared.backend.choice_probability(build_judge_messages(prepared.messages), JUDGE_CHOICES)
        prepared.timings["judge_s"] = time.perf_counter() - t
    if prepared.backend is not None and not prepared.judged_unanswerable:
        held: list[str] | None = []  # what may still be a plain decline, which a rescue would replace unseen
        for delta in prepared.backend.stream_chat(prepared.messages, prepared.sampling):
            if not parts:
                prepared.timings["first_token_s"] = time.perf_counter() - t
            parts.append(delta)
            if held is not None and may_be_decline("".join(parts)):
                held.append(delta)
                continue
            for waiting in [*(held or []), delta]:
                yield Token(waiting)
            held = None
        if held is not None and prepared.may_rescue and is_abstention("".join(parts)):
            prepared.rescued, parts, held = True, [], []
            for delta in prepared.backend.stream_chat(build_rescue_messages(prepared.messages), prepared.sampling):
                parts.append(delta)
                yield Token(delta)
        for waiting in held or []:
            yield Token(waiting)
        prepared.timings["generate_s"] = time.perf_counter() - t
    yield answer_finish(prepared=prepared, user=user, text="".join(parts), completion_tokens=len(parts))


def question_answer(
    *, tenant: Tenant, user: User | None, question: str, top_k: int, model: str | None = None
) -> Answer:
    prepared = question_prepare(tenant=tenant, question=question, top_k=top_k, model=model)
    *_, answer = answer_stream(prepared=prepared, user=user)
    assert isinstance(answer, Answer)
    return answer
