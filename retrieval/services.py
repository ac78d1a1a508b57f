from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from cleanroom.audit.replay import replay_fingerprint
from cleanroom.audit.services import audit_record
from cleanroom.embeddings import embed
from cleanroom.llm import LocalLlamaBackend, Sampling, answer_backend
from cleanroom.pii.policy import pii_redact_text
from cleanroom.policies.selectors import TenantPolicy, tenant_policy
from cleanroom.residency import check_processing_allowed
from cleanroom.tenants.models import Tenant
from retrieval.prompting import NO_ANSWER, best_snippet, build_messages, cited_numbers, is_abstention
from retrieval.selectors import ScoredChunk, chunk_search

logger = logging.getLogger(__name__)

SNIPPET_CHARS = 300
# Characters of passages handed to the model: about 3.5 characters a token, leaving room for the system prompt,
# the question and the answer inside the context window.
_CHARS_PER_TOKEN = 3.5


@dataclass
class Citation:
    document_id: str
    chunk_id: int
    title: str
    snippet: str
    score: float

    @classmethod
    def from_chunk(cls, chunk: ScoredChunk, question: str) -> Citation:
        snippet = best_snippet(chunk.text, question, limit=SNIPPET_CHARS)
        return cls(chunk.document_id, chunk.chunk_id, chunk.title, snippet, chunk.score)


@dataclass
class Answer:
    answer: str
    citations: list[Citation]
    abstained: bool
    question_redacted: str = ""
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class PreparedQuestion:
    """Everything decided before the model speaks: the redacted question, the passages, and the prompt."""

    tenant: Tenant
    policy: TenantPolicy
    question: str  # redacted
    retrieved: list[ScoredChunk]
    relevant: list[ScoredChunk]
    messages: list[dict[str, str]]
    backend: LocalLlamaBackend | None
    sampling: Sampling
    timings: dict[str, float]


def question_prepare(*, tenant: Tenant, question: str, top_k: int) -> PreparedQuestion:
    started = time.perf_counter()
    policy = tenant_policy(tenant=tenant)
    check_processing_allowed(policy, backend_region=settings.CLEANROOM_REGION, what="embedding model")
    # The question is redacted on arrival: what is searched, prompted, logged and audited has no personal data.
    redacted = pii_redact_text(tenant=tenant, text=question)  # pseudonyms match the indexed passages' tokens
    timings = {"redact_s": time.perf_counter() - started}

    t = time.perf_counter()
    retrieved = chunk_search(tenant=tenant, query=redacted, query_vector=embed([redacted])[0], k=top_k)
    timings["retrieve_s"] = time.perf_counter() - t
    relevant = [chunk for chunk in retrieved if chunk.score >= settings.MIN_RELEVANCE]

    backend = None
    messages: list[dict[str, str]] = []
    if relevant:
        backend = answer_backend()
        check_processing_allowed(policy, backend_region=backend.region, what="answer model")
        budget_tokens = settings.LLM_CONTEXT_TOKENS - settings.LLM_MAX_ANSWER_TOKENS - 300
        messages = build_messages(redacted, relevant, max_context_chars=int(budget_tokens * _CHARS_PER_TOKEN))
    return PreparedQuestion(
        tenant=tenant,
        policy=policy,
        question=redacted,
        retrieved=retrieved,
        relevant=relevant,
        messages=messages,
        backend=backend,
        sampling=Sampling(seed=settings.LLM_SEED, max_tokens=settings.LLM_MAX_ANSWER_TOKENS),
        timings=timings,
    )


def answer_finish(*, prepared: PreparedQuestion, user: AbstractBaseUser | None, text: str) -> Answer:
    """Turn the model's text into an answer with citations, decide abstention, and audit it."""
    text = text.strip()
    if not prepared.relevant or is_abstention(text):
        abstained = True
        answer_text = NO_ANSWER
        # Still show the closest passages, so a person can judge for themselves.
        citations = [Citation.from_chunk(chunk, prepared.question) for chunk in prepared.retrieved[:3]]
    else:
        abstained = False
        answer_text = text
        numbers = cited_numbers(text, len(prepared.relevant))
        cited = [prepared.relevant[n - 1] for n in numbers] or prepared.relevant
        citations = [Citation.from_chunk(chunk, prepared.question) for chunk in cited]
    backend = prepared.backend
    audit_record(
        tenant=prepared.tenant,
        actor=user,
        action="query.answered",
        details={
            "question": prepared.question,
            "retrieved_chunk_ids": [chunk.chunk_id for chunk in prepared.retrieved],
            "prompt_chunk_ids": [chunk.chunk_id for chunk in prepared.relevant],
            "cited_chunk_ids": [citation.chunk_id for citation in citations],
            "abstained": abstained,
            "model": backend.name if backend else None,
            "model_sha256": backend.sha256 if backend else None,
            "sampling": prepared.sampling.as_dict() if backend else None,
            **replay_fingerprint(prepared.messages, text),  # lets `audit replay` prove the answer reproduces
        },
    )
    return Answer(
        answer=answer_text,
        citations=citations,
        abstained=abstained,
        question_redacted=prepared.question,
        model=backend.name if backend else "",
        timings=prepared.timings,
    )


def question_answer(*, tenant: Tenant, user: AbstractBaseUser | None, question: str, top_k: int) -> Answer:
    prepared = question_prepare(tenant=tenant, question=question, top_k=top_k)
    text = ""
    if prepared.backend is not None:
        t = time.perf_counter()
        text = prepared.backend.chat(prepared.messages, prepared.sampling)
        prepared.timings["generate_s"] = time.perf_counter() - t
    return answer_finish(prepared=prepared, user=user, text=text)
